// Entry point of bindings/CnnNative.BindingsGen (see Cli.cs for the command line).
return CnnNative.BindingsGen.Cli.Run(args, Console.Out, Console.Error);

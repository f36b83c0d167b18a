using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using CnnNative.Data;
using CnnNative.Nn;
using CnnNative.Optim;

namespace CnnNative.Cli;

/// <summary>What a training run achieved (for <c>cnn demo</c> and the closing summary).</summary>
internal sealed record TrainOutcome(
    string OutDirectory,
    string WeightsPath,
    int EpochsRun,
    int BestEpoch,
    double BestValidationLoss,
    EvalResult Test,
    double TrainImagesPerSecond,
    double TrainSeconds,
    double WallSeconds);

/// <summary>
/// <c>cnn train</c>: trains a model on the Fashion-MNIST training set (a seeded validation split held out),
/// logging every epoch to <c>log.csv</c>, keeping the weights with the lowest validation loss
/// (<c>best.safetensors</c> + <c>best.json</c>), stopping early after <c>--patience</c> epochs without
/// improvement, and reporting the accuracy of the best weights on the 10,000 test images.
/// </summary>
internal static class TrainCommand
{
    public const string LogFile = "log.csv";
    public const string WeightsFile = "best.safetensors";

    /// <summary>Largest random shift of <c>--augment</c>, in pixels.</summary>
    public const int MaxShift = 2;

    public static int Run(TrainSettings settings, TextWriter output)
    {
        // An image folder (class subfolders of PNG/JPEG files) takes the fine-tuning path; the IDX files the Fashion-MNIST one.
        if (ImageFolderTraining.IsImageFolder(settings.DataDirectory))
        {
            ImageFolderTraining.Run(settings, settings.Images ?? ImageOptionDefaults, output);
        }
        else
        {
            if (settings.Images is { } image && (image.Weights is not null || image.FreezeBackbone || image.UnfreezeAfter is not null || image.ImageSize is not null))
            {
                throw new CliException($"--weights, --freeze-backbone, --unfreeze-after and --image-size need an image folder as --data; {settings.DataDirectory} is the Fashion-MNIST IDX directory.");
            }

            Train(settings, output);
        }

        return ExitCodes.Success;
    }

    private static readonly ImageTrainOptions ImageOptionDefaults = new(null, false, null, 0.1f, null, null, null, 2);

    public static TrainOutcome Train(TrainSettings settings, TextWriter output, string? commandLine = null)
    {
        var wall = Stopwatch.StartNew();
        Execution.Configure(settings.Isa, settings.Threads);
        string outDirectory = Path.GetFullPath(settings.OutDirectory ?? Path.Combine("runs", settings.Model));
        try
        {
            Directory.CreateDirectory(outDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot create the output directory {outDirectory}: {ex.Message}");
        }
        string logPath = Path.Combine(outDirectory, LogFile);
        string weightsPath = Path.Combine(outDirectory, WeightsFile);

        // 1. Data: training set -> seeded train/validation split; statistics of the training split normalise everything.
        var loadClock = Stopwatch.StartNew();
        ImageSet all = FashionData.Load(settings.DataDirectory, train: true);
        ImageSet test = FashionData.Load(settings.DataDirectory, train: false);
        (ImageSet train, ImageSet? validation) = FashionData.Split(all, settings.ValidationSplit, settings.Seed);
        Normalization normalization = Normalization.Fit(train.Images, ImageSet.Shape);
        float mean = normalization.Mean[0], std = normalization.Std[0];
        loadClock.Stop();

        // 2. Model, optimizer, schedule.
        Cnn.ManualSeed(settings.Seed);
        using Module model = ModelZoo.Create(settings.Model);
        List<Tensor> parameters = model.Parameters().ToList();
        OptimizerChoice choice = OptimizerChoice.From(settings);
        using Optimizer optimizer = choice.Create(parameters);
        Action? scheduleStep = CreateSchedule(settings, optimizer, out string scheduleText);

        output.WriteLine($"cnn train: {settings.Model} on Fashion-MNIST");
        output.WriteLine($"Model:     {ModelZoo.Describe(settings.Model)}, {model.ParameterCount():N0} parameters");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Data:      {train.Count:N0} training / {validation?.Count ?? 0:N0} validation (seed {settings.Seed}) / {test.Count:N0} test images, loaded in {loadClock.Elapsed.TotalSeconds:F1} s; " +
            $"inputs (x - {mean:F4}) / {std:F4} (training split); augmentation {(settings.Augment ? $"on (shift <= {MaxShift} px, horizontal flip)" : "off")}"));
        output.WriteLine($"Optimizer: {choice.Describe()}; schedule {scheduleText}; batch {settings.BatchSize}" +
            (settings.LabelSmoothing > 0 ? string.Create(CultureInfo.InvariantCulture, $"; label smoothing {settings.LabelSmoothing}") : "") +
            (settings.ClipNorm > 0 ? string.Create(CultureInfo.InvariantCulture, $"; gradient norm clipped to {settings.ClipNorm}") : ""));
        output.WriteLine(validation is null
            ? $"Epochs:    {settings.Epochs} (no validation split: the last epoch's weights are kept)"
            : $"Epochs:    up to {settings.Epochs}, early stopping after {settings.Patience} epoch(s) without a lower validation loss");
        output.WriteLine($"Run:       isa {IsaNames.ToName(Cnn.Isa)}, {Cnn.NumThreads} thread(s), version {Cnn.Version}");
        output.WriteLine($"Output:    {outDirectory}{Path.DirectorySeparatorChar} ({LogFile}, {WeightsFile}, {Path.GetFileName(ModelCard.PathFor(weightsPath))})");
        output.WriteLine();

        Augmentation? augmentation = settings.Augment ? new Augmentation(MaxShift, horizontalFlip: true, seed: settings.Seed) : null;
        using DataLoader trainBatches = train.Loader(settings.BatchSize, normalization, shuffle: true, seed: settings.Seed, augmentation);
        using DataLoader? validationBatches = validation?.Loader(Math.Max(settings.BatchSize, 256), normalization);
        using DataLoader testBatches = test.Loader(Math.Max(settings.BatchSize, 256), normalization);

        var progress = new ProgressLine(output, ProgressLine.TerminalAttached);
        using var stopper = new EarlyStopping(settings.Patience);
        using var log = new StreamWriter(logPath, append: false, new UTF8Encoding(false));
        log.WriteLine("epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds,images_per_s");
        log.Flush();

        double trainSeconds = 0;
        long trainImages = 0;
        int epochsRun = 0;
        var epochSecondsHistory = new List<double>();
        for (int epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            float learningRate = optimizer.LearningRate;
            model.Train();
            double lossSum = 0;
            int correct = 0, seen = 0, batchIndex = 0;
            var trainClock = Stopwatch.StartNew();
            foreach (Batch batch in trainBatches)
            {
                optimizer.ZeroGrad();
                using Tensor logits = model.Forward(batch.Input);
                using Tensor loss = Functional.CrossEntropy(logits, batch.Labels.Span, settings.LabelSmoothing);
                loss.Backward();
                if (settings.ClipNorm > 0)
                {
                    GradClip.ClipGradNorm(parameters, settings.ClipNorm);
                }
                optimizer.Step();

                float batchLoss = loss.Item();
                if (!float.IsFinite(batchLoss))
                {
                    progress.Clear();
                    throw new CliException(
                        $"the training loss became {batchLoss} at epoch {epoch}, batch {batchIndex + 1}: the learning rate ({learningRate.ToString(CultureInfo.InvariantCulture)}) is probably too high.",
                        ExitCodes.Failure);
                }
                lossSum += (double)batchLoss * batch.Count;
                correct += Evaluator.Tally(logits.AsSpan(), batch.Labels.Span);
                seen += batch.Count;
                batchIndex++;

                int currentEpoch = epoch, doneBatches = batchIndex;
                double elapsed = trainClock.Elapsed.TotalSeconds;
                progress.Update(() =>
                {
                    double perBatch = elapsed / doneBatches;
                    double epochLeft = perBatch * (trainBatches.BatchCount - doneBatches);
                    double epochEstimate = epochSecondsHistory.Count > 0 ? epochSecondsHistory.Average() : perBatch * trainBatches.BatchCount;
                    double totalLeft = epochLeft + epochEstimate * (settings.Epochs - currentEpoch);
                    return string.Create(CultureInfo.InvariantCulture,
                        $"epoch {currentEpoch}/{settings.Epochs}  batch {doneBatches}/{trainBatches.BatchCount}  loss {lossSum / seen:F4}  acc {100.0 * correct / seen:F2}%  " +
                        $"{seen / Math.Max(elapsed, 1e-9):N0} img/s  ETA epoch {ProgressLine.FormatDuration(epochLeft)}, run {ProgressLine.FormatDuration(totalLeft)}");
                });
            }
            trainClock.Stop();
            double epochTrainSeconds = trainClock.Elapsed.TotalSeconds;
            trainSeconds += epochTrainSeconds;
            trainImages += seen;
            double imagesPerSecond = seen / Math.Max(epochTrainSeconds, 1e-9);

            progress.Update(() => string.Create(CultureInfo.InvariantCulture, $"epoch {epoch}/{settings.Epochs}  validating ..."), force: true);
            EvalResult? val = validationBatches is null ? null : Evaluator.Evaluate(model, validationBatches);
            scheduleStep?.Invoke();
            epochsRun = epoch;
            epochClock.Stop();
            double epochSeconds = epochClock.Elapsed.TotalSeconds;
            epochSecondsHistory.Add(epochSeconds);

            // Early stopping on the validation loss (without a validation split: keep the last epoch).
            bool improved = false;
            if (val is not null)
            {
                stopper.Step((float)val.Loss, model);
                improved = stopper.EpochsWithoutImprovement == 0;
            }

            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{epoch},{lossSum / seen:F6},{(double)correct / seen:F6},{(val is null ? "" : val.Loss.ToString("F6", CultureInfo.InvariantCulture))},{(val is null ? "" : val.Accuracy.ToString("F6", CultureInfo.InvariantCulture))},{learningRate:G6},{epochSeconds:F3},{imagesPerSecond:F1}"));
            log.Flush();

            progress.Clear();
            string epochText = epoch.ToString(CultureInfo.InvariantCulture).PadLeft(settings.Epochs.ToString(CultureInfo.InvariantCulture).Length);
            string validationText = val is null ? "" : string.Create(CultureInfo.InvariantCulture, $"val loss {val.Loss:F4} acc {100 * val.Accuracy:F2}%  ");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epochText}/{settings.Epochs}  train loss {lossSum / seen:F4} acc {100.0 * correct / seen:F2}%  {validationText}lr {learningRate:G4}  {epochSeconds:F1} s  {imagesPerSecond:N0} img/s{(improved ? "  *" : "")}"));
            output.Flush();

            if (val is not null && stopper.ShouldStop)
            {
                output.WriteLine($"Early stopping: no lower validation loss for {settings.Patience} epoch(s) after epoch {stopper.BestEpoch + 1}.");
                break;
            }
        }

        // 3. Best weights -> disk, then the test set.
        stopper.RestoreBest(model);
        int bestEpoch = validation is null ? epochsRun : stopper.BestEpoch + 1;
        double bestLoss = validation is null ? double.NaN : stopper.BestMetric;
        model.SaveSafetensors(weightsPath);
        EvalResult testResult = Evaluator.Evaluate(model, testBatches);
        var card = new ModelCard(settings.Model, mean, std, bestEpoch, epochsRun, validation is null ? null : bestLoss, testResult.Accuracy,
            commandLine ?? settings.ToCommandLine());
        card.Save(ModelCard.PathFor(weightsPath));
        wall.Stop();

        output.WriteLine();
        output.WriteLine(validation is null
            ? $"Weights of the last epoch ({epochsRun}) saved to {weightsPath}"
            : string.Create(CultureInfo.InvariantCulture,
                $"Best epoch {bestEpoch} (validation loss {bestLoss:F4}); its weights are saved to {weightsPath}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Test accuracy: {100 * testResult.Accuracy:F2}% ({testResult.Correct:N0}/{testResult.Count:N0}), test loss {testResult.Loss:F4}"));
        double meanImagesPerSecond = trainImages / Math.Max(trainSeconds, 1e-9);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Training:      {epochsRun} epoch(s), {ProgressLine.FormatDuration(trainSeconds)} in the training loops, {meanImagesPerSecond:N0} images/s; wall time {ProgressLine.FormatDuration(wall.Elapsed.TotalSeconds)} (incl. data loading, validation and test)"));
        output.WriteLine($"Log:           {logPath}");

        return new TrainOutcome(outDirectory, weightsPath, epochsRun, bestEpoch, bestLoss, testResult,
            meanImagesPerSecond, trainSeconds, wall.Elapsed.TotalSeconds);
    }

    private static Action? CreateSchedule(TrainSettings settings, Optimizer optimizer, out string description)
    {
        switch (settings.Schedule)
        {
            case "step":
            {
                int stepSize = settings.StepSize ?? Math.Max(1, settings.Epochs / 3);
                var scheduler = new StepLR(optimizer, stepSize, settings.Gamma);
                description = string.Create(CultureInfo.InvariantCulture, $"step (x{settings.Gamma} every {stepSize} epoch(s))");
                return scheduler.Step;
            }
            case "cosine":
            {
                var scheduler = new CosineAnnealingLR(optimizer, settings.Epochs);
                description = $"cosine (to 0 over {settings.Epochs} epochs)";
                return scheduler.Step;
            }
            default:
                description = "none (constant)";
                return null;
        }
    }
}

/// <summary>The optimizer named on the command line, with the defaults filled in per optimizer.</summary>
internal sealed record OptimizerChoice(string Name, float LearningRate, float Momentum, float WeightDecay)
{
    public static OptimizerChoice From(TrainSettings s) => s.Optimizer switch
    {
        "adam" => new("adam", s.LearningRate ?? 1e-3f, 0, s.WeightDecay ?? 0),
        "adamw" => new("adamw", s.LearningRate ?? 1e-3f, 0, s.WeightDecay ?? 1e-2f),
        "sgd" => new("sgd", s.LearningRate ?? 0.05f, s.Momentum ?? 0.9f, s.WeightDecay ?? 0),
        "rmsprop" => new("rmsprop", s.LearningRate ?? 1e-3f, s.Momentum ?? 0, s.WeightDecay ?? 0),
        _ => throw new CliException($"unknown optimizer '{s.Optimizer}' (expected adam, adamw, sgd or rmsprop)."),
    };

    public Optimizer Create(IEnumerable<Tensor> parameters) => Name switch
    {
        "adam" => new Adam(parameters, LearningRate, weightDecay: WeightDecay),
        "adamw" => new AdamW(parameters, LearningRate, weightDecay: WeightDecay),
        "sgd" => new SGD(parameters, LearningRate, momentum: Momentum, weightDecay: WeightDecay),
        _ => new RMSprop(parameters, LearningRate, momentum: Momentum, weightDecay: WeightDecay),
    };

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Name} lr {LearningRate:G4}{(Name is "sgd" or "rmsprop" ? $" momentum {Momentum:G4}" : "")} weight decay {WeightDecay:G4}");
}

internal sealed record TrainSettings(
    string Model,
    int Epochs,
    int BatchSize,
    float? LearningRate,
    string Optimizer,
    float? Momentum,
    float? WeightDecay,
    string Schedule,
    int? StepSize,
    float Gamma,
    bool Augment,
    double ValidationSplit,
    int Patience,
    float LabelSmoothing,
    float ClipNorm,
    int Threads,
    string Isa,
    int Seed,
    string? OutDirectory,
    string DataDirectory,
    ImageTrainOptions? Images = null)
{
    /// <summary>An equivalent command line (recorded in the model card).</summary>
    public string ToCommandLine()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"cnn train --model {Model} --epochs {Epochs} --batch {BatchSize} --optimizer {Optimizer}");
        if (LearningRate is float lr) sb.Append(CultureInfo.InvariantCulture, $" --lr {lr}");
        if (Momentum is float m) sb.Append(CultureInfo.InvariantCulture, $" --momentum {m}");
        if (WeightDecay is float wd) sb.Append(CultureInfo.InvariantCulture, $" --weight-decay {wd}");
        sb.Append(CultureInfo.InvariantCulture, $" --schedule {Schedule}");
        if (StepSize is int ss) sb.Append(CultureInfo.InvariantCulture, $" --step-size {ss}");
        if (Schedule == "step") sb.Append(CultureInfo.InvariantCulture, $" --gamma {Gamma}");
        if (Augment) sb.Append(" --augment");
        sb.Append(CultureInfo.InvariantCulture, $" --val-split {ValidationSplit} --patience {Patience}");
        if (LabelSmoothing > 0) sb.Append(CultureInfo.InvariantCulture, $" --label-smoothing {LabelSmoothing}");
        if (ClipNorm > 0) sb.Append(CultureInfo.InvariantCulture, $" --clip-norm {ClipNorm}");
        sb.Append(CultureInfo.InvariantCulture, $" --threads {Threads} --isa {Isa} --seed {Seed}");
        return sb.ToString();
    }
}

/// <summary>The options of <c>cnn train</c>.</summary>
internal sealed class TrainOptionSet
{
    private readonly Option<string> _model = new("--model", "-m")
    {
        Description = "Model to train: lenet5 or cnn-bn on the Fashion-MNIST IDX files; any zoo name on an image folder.",
        DefaultValueFactory = _ => ModelZoo.LeNet5Name,
    };

    private readonly Option<int> _epochs = new("--epochs", "-e")
    {
        Description = "Maximum number of epochs (1 ... 10000).",
        HelpName = "N",
        DefaultValueFactory = _ => 10,
    };

    private readonly Option<int> _batch = CommonOptions.Batch(64);

    private readonly Option<float?> _lr = new("--lr")
    {
        Description = "Learning rate (> 0). Default: 0.001 for adam, adamw and rmsprop; 0.05 for sgd.",
        HelpName = "X",
    };

    private readonly Option<string> _optimizer = new("--optimizer", "-o")
    {
        Description = "Optimizer (torch.optim update rules).",
        DefaultValueFactory = _ => "adam",
    };

    private readonly Option<float?> _momentum = new("--momentum")
    {
        Description = "Momentum for sgd (default 0.9) and rmsprop (default 0), in [0, 1).",
        HelpName = "X",
    };

    private readonly Option<float?> _weightDecay = new("--weight-decay")
    {
        Description = "Weight decay (>= 0). Default 0; 0.01 for adamw (decoupled).",
        HelpName = "X",
    };

    private readonly Option<string> _schedule = new("--schedule")
    {
        Description = "Learning-rate schedule, stepped once per epoch: none, step (StepLR: x gamma every --step-size epochs), cosine (CosineAnnealingLR over --epochs).",
        DefaultValueFactory = _ => "none",
    };

    private readonly Option<int?> _stepSize = new("--step-size")
    {
        Description = "Epochs between learning-rate drops of --schedule step (default: epochs / 3).",
        HelpName = "N",
    };

    private readonly Option<float> _gamma = new("--gamma")
    {
        Description = "Factor of each learning-rate drop of --schedule step, in (0, 1].",
        HelpName = "X",
        DefaultValueFactory = _ => 0.1f,
    };

    private readonly Option<bool> _augment = new("--augment")
    {
        Description = $"Augment the training images: random shifts of up to {TrainCommand.MaxShift} pixels and horizontal flips.",
    };

    private readonly Option<double> _valSplit = new("--val-split")
    {
        Description = "Fraction of the 60,000 training images held out (seeded) for validation and early stopping, in [0, 0.5]; 0: none.",
        HelpName = "F",
        DefaultValueFactory = _ => 0.1,
    };

    private readonly Option<int> _patience = new("--patience", "-p")
    {
        Description = "Stop after this many epochs without a lower validation loss (1 ... 10000).",
        HelpName = "N",
        DefaultValueFactory = _ => 5,
    };

    private readonly Option<float> _labelSmoothing = new("--label-smoothing")
    {
        Description = "Label smoothing of the cross-entropy loss, in [0, 1).",
        HelpName = "X",
        DefaultValueFactory = _ => 0f,
    };

    private readonly Option<float> _clipNorm = new("--clip-norm")
    {
        Description = "Clip the global gradient norm to this value (0: no clipping).",
        HelpName = "X",
        DefaultValueFactory = _ => 0f,
    };

    private readonly Option<int> _threads = CommonOptions.Threads();
    private readonly Option<string> _isa = CommonOptions.Isa();

    private readonly Option<int> _seed = new("--seed", "-s")
    {
        Description = "Seed of the initial weights, the validation split, the shuffling, augmentation and dropout.",
        DefaultValueFactory = _ => 0,
    };

    private readonly Option<DirectoryInfo?> _out = new("--out")
    {
        Description = "Output directory for log.csv, best.safetensors and best.json (default: runs/<model>).",
        HelpName = "DIR",
    };

    private readonly Option<DirectoryInfo> _data = CommonOptions.Data();

    private readonly Option<FileInfo?> _weights = new("--weights", "-w")
    {
        Description = "Image folder only: start from these weights (.safetensors with state-dict keys, or .onnx with them as initializers); the head is replaced to the folder's class count.",
        HelpName = "FILE",
    };

    private readonly Option<bool> _freezeBackbone = new("--freeze-backbone")
    {
        Description = "Image folder only: train the head alone (the backbone's parameters get no gradient and no weight-gradient work).",
    };

    private readonly Option<int?> _unfreezeAfter = new("--unfreeze-after")
    {
        Description = "Image folder only: with --freeze-backbone, unfreeze every layer after K epochs and continue with a new optimizer at lr x --unfreeze-lr-factor.",
        HelpName = "K",
    };

    private readonly Option<float> _unfreezeLrFactor = new("--unfreeze-lr-factor")
    {
        Description = "Learning-rate factor after --unfreeze-after, in (0, 1000].",
        HelpName = "X",
        DefaultValueFactory = _ => 0.1f,
    };

    private readonly Option<int?> _imageSize = new("--image-size")
    {
        Description = "Image folder only: square input side (Resize shorter side + CenterCrop; RandomResizedCrop with --augment). Default: the model's usual size (224 for the ImageNet models).",
        HelpName = "S",
    };

    private readonly Option<float[]?> _mean = new("--mean")
    {
        Description = "Image folder only: per-channel (or one) normalisation mean. Default: ImageNet's for RGB models, 0.5 for gray.",
        HelpName = "M",
        AllowMultipleArgumentsPerToken = true,
    };

    private readonly Option<float[]?> _std = new("--std")
    {
        Description = "Image folder only: per-channel (or one) normalisation std, > 0. Default: ImageNet's for RGB models, 0.5 for gray.",
        HelpName = "S",
        AllowMultipleArgumentsPerToken = true,
    };

    private readonly Option<int> _workers = new("--workers")
    {
        Description = "Image folder only: loader threads decoding and transforming ahead of the training step (0 ... 64; 0: in the training thread).",
        HelpName = "N",
        DefaultValueFactory = _ => 2,
    };

    public TrainOptionSet()
    {
        _model.AcceptOnlyFromAmong(CnnNative.Models.ModelZoo.Names.ToArray());
        _unfreezeAfter.Numeric();
        _unfreezeLrFactor.Numeric();
        _imageSize.Numeric();
        _workers.Numeric();
        CommonOptions.AddRange(_unfreezeAfter, 1, 10000);
        CommonOptions.AddRange(_unfreezeLrFactor, 0, 1e3, minExclusive: true);
        CommonOptions.AddRange(_imageSize, 1, 4096);
        CommonOptions.AddRange(_workers, 0, 64);
        _epochs.Numeric();
        _lr.Numeric();
        _momentum.Numeric();
        _weightDecay.Numeric();
        _stepSize.Numeric();
        _gamma.Numeric();
        _valSplit.Numeric();
        _patience.Numeric();
        _labelSmoothing.Numeric();
        _clipNorm.Numeric();
        _seed.Numeric();
        _optimizer.AcceptOnlyFromAmong("adam", "sgd", "adamw", "rmsprop");
        _schedule.AcceptOnlyFromAmong("none", "step", "cosine");
        CommonOptions.AddRange(_epochs, 1, 10000);
        CommonOptions.AddRange(_patience, 1, 10000);
        CommonOptions.AddRange(_stepSize, 1, 10000);
        CommonOptions.AddRange(_lr, 0, 1e3, minExclusive: true);
        CommonOptions.AddRange(_momentum, 0, 1, maxExclusive: true);
        CommonOptions.AddRange(_weightDecay, 0, 1e3);
        CommonOptions.AddRange(_gamma, 0, 1, minExclusive: true);
        CommonOptions.AddRange(_valSplit, 0, 0.5);
        CommonOptions.AddRange(_labelSmoothing, 0, 1, maxExclusive: true);
        CommonOptions.AddRange(_clipNorm, 0, 1e6);
    }

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[]
                 {
                     _model, _epochs, _batch, _lr, _optimizer, _momentum, _weightDecay, _schedule, _stepSize, _gamma,
                     _augment, _valSplit, _patience, _labelSmoothing, _clipNorm, _threads, _isa, _seed, _out, _data,
                     _weights, _freezeBackbone, _unfreezeAfter, _unfreezeLrFactor, _imageSize, _mean, _std, _workers,
                 })
        {
            command.Add(option);
        }
    }

    public TrainSettings Read(ParseResult result) => new(
        Model: result.GetValue(_model)!,
        Epochs: result.GetValue(_epochs),
        BatchSize: result.GetValue(_batch),
        LearningRate: result.GetValue(_lr),
        Optimizer: result.GetValue(_optimizer)!,
        Momentum: result.GetValue(_momentum),
        WeightDecay: result.GetValue(_weightDecay),
        Schedule: result.GetValue(_schedule)!,
        StepSize: result.GetValue(_stepSize),
        Gamma: result.GetValue(_gamma),
        Augment: result.GetValue(_augment),
        ValidationSplit: result.GetValue(_valSplit),
        Patience: result.GetValue(_patience),
        LabelSmoothing: result.GetValue(_labelSmoothing),
        ClipNorm: result.GetValue(_clipNorm),
        Threads: result.GetValue(_threads),
        Isa: result.GetValue(_isa)!,
        Seed: result.GetValue(_seed),
        OutDirectory: result.GetValue(_out)?.FullName,
        DataDirectory: result.GetValue(_data)!.FullName,
        Images: new ImageTrainOptions(
            Weights: result.GetValue(_weights)?.FullName,
            FreezeBackbone: result.GetValue(_freezeBackbone),
            UnfreezeAfter: result.GetValue(_unfreezeAfter),
            UnfreezeLrFactor: result.GetValue(_unfreezeLrFactor),
            ImageSize: result.GetValue(_imageSize),
            // An absent list option reads as an empty array: null means "use the default".
            Mean: result.GetValue(_mean) is { Length: > 0 } mean ? mean : null,
            Std: result.GetValue(_std) is { Length: > 0 } std ? std : null,
            Workers: result.GetValue(_workers)));
}

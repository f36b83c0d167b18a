# build.ps1 — build.sh's verbs for Windows users (CI runs Linux; keep the two in step).
#   .\build.ps1 demo | test | bench | verify | onnxproto | native | bindings | managed | clean
# bench on Windows runs the BenchmarkDotNet kernel suite only: oneDNN (the peer) and the PyTorch model
# runs come from Debian packages, so the side-by-side report (docs/benchmarks.md) is made on Linux.
param([Parameter(Position = 0)][string]$Verb = "test", [Parameter(ValueFromRemainingArguments = $true)]$Rest)
$ErrorActionPreference = "Stop"
$Root = $PSScriptRoot
$Config = "Release"
$NativeBuild = Join-Path $Root "build/native"
$NativeOut = Join-Path $Root "artifacts/native/win-x64"
$Python = if ($env:CNN_PYTHON) { $env:CNN_PYTHON } else { "python" }

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Deps {
    foreach ($tool in "cmake", "dotnet", $Python) {
        if (-not (Get-Command $tool -ErrorAction SilentlyContinue)) { throw "'$tool' is not on PATH: install it and re-run." }
    }
    # The oracle needs torch and onnx (the ONNX tests' reference); the bindings generator is C# with
    # libclang from NuGet. The ONNX C# classes are committed (src/CnnNative/Onnx/Generated); regenerating
    # them needs protoc 3.21.12 (./build.sh onnxproto on Linux: Debian's protobuf-compiler).
    & $Python -c "import torch, onnx" 2>$null
    if ($LASTEXITCODE -ne 0) { Invoke-Checked $Python @("-m", "pip", "install", "--user", "torch", "torchvision", "onnx") }
}

function Native {
    Invoke-Checked cmake @("-S", $Root, "-B", $NativeBuild)
    Invoke-Checked cmake @("--build", $NativeBuild, "--config", $Config, "--parallel")
    New-Item -ItemType Directory -Force $NativeOut | Out-Null
    Copy-Item (Join-Path $NativeBuild "native/$Config/cnnnative.dll") $NativeOut -Force
}

# tests/verify/verify_zoo.sh in PowerShell: every zoo model exported by PyTorch (safetensors and ONNX)
# through `cnn verify`; one line per model and format, non-zero when any fails.
function Verify([string[]]$Only) {
    $cnn = Join-Path $Root "src/CnnNative.Cli/bin/$Config/net10.0/cnn.dll"
    $all = "lenet5:1,1,28,28:10", "alexnet:1,3,224,224", "vgg11:1,3,224,224", "vgg16:1,3,224,224",
           "resnet18:1,3,224,224", "resnet34:1,3,224,224", "resnet50:1,3,224,224", "mobilenet_v2:1,3,224,224",
           "googlenet:1,3,224,224", "allconvnet:1,3,32,32:10"
    $out = Join-Path ([IO.Path]::GetTempPath()) ("cnn-verify-" + [Guid]::NewGuid())
    New-Item -ItemType Directory $out | Out-Null
    $passed = 0; $failed = 0
    try {
        foreach ($spec in $all) {
            $name, $shape, $classes = $spec.Split(":")
            if ($Only -and $Only -notcontains $name) { continue }
            & $Python (Join-Path $Root "tests/verify/export_zoo.py") $out 17 $spec
            if ($LASTEXITCODE -ne 0) { Write-Host "FAIL $name: export"; $failed += 2; continue }
            $runs = @{ "safetensors" = @("--weights", "$out/$name.safetensors", "--model", $name, "--input-shape", $shape,
                                         "--num-classes", $(if ($classes) { $classes } else { "1000" }));
                       "onnx" = @("--onnx", "$out/$name.onnx") }
            foreach ($fmt in "safetensors", "onnx") {
                $result = & dotnet $cnn verify @($runs[$fmt]) 2>&1
                if ($LASTEXITCODE -eq 0) { $passed++; $verdict = "PASS" } else { $failed++; $verdict = "FAIL" }
                Write-Host ("{0,-4} {1,-13} {2}" -f $verdict, $name, $fmt)
                if ($verdict -eq "FAIL") { $result | ForEach-Object { Write-Host "    $_" } }
            }
            Remove-Item -Force -ErrorAction SilentlyContinue "$out/$name.onnx", "$out/$name.safetensors"
        }
    } finally { Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $out }
    Write-Host "verify: $passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

# src/CnnNative/Onnx/generate_onnx_proto.sh in PowerShell (needs protoc 3.21.x on PATH and python's onnx).
function OnnxProto {
    if (-not (Get-Command protoc -ErrorAction SilentlyContinue)) { throw "protoc is not on PATH: install protobuf 3.21.x and re-run." }
    $proto = (& $Python -c "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'onnx.proto'))").Trim()
    $tmp = Join-Path ([IO.Path]::GetTempPath()) ("cnn-proto-" + [Guid]::NewGuid())
    New-Item -ItemType Directory $tmp | Out-Null
    try {
        (Get-Content $proto) -replace '^package onnx;$', "package onnx;`noption csharp_namespace = `"CnnNative.Onnx.Proto`";" |
            Set-Content -Encoding utf8 (Join-Path $tmp "onnx.proto")
        Invoke-Checked protoc @("--proto_path=$tmp", "--csharp_out=$tmp", "--csharp_opt=internal_access", (Join-Path $tmp "onnx.proto"))
        $version = (& protoc --version).Split(" ")[1]
        $header = "// GENERATED FILE — DO NOT EDIT. Regenerate with ./build.sh onnxproto",
                  "// (src/CnnNative/Onnx/generate_onnx_proto.sh: Debian protoc $version over",
                  "// Debian python3-onnx's onnx.proto, namespace CnnNative.Onnx.Proto, internal access)."
        Set-Content -Encoding utf8 (Join-Path $Root "src/CnnNative/Onnx/Generated/Onnx.g.cs") ($header + (Get-Content (Join-Path $tmp "Onnx.cs")))
    } finally { Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $tmp }
}

function Managed { Invoke-Checked dotnet @("build", (Join-Path $Root "CnnNative.sln"), "-c", $Config, "-p:CnnNativeLibDir=$NativeOut/") }

switch ($Verb) {
    "deps" { Deps }
    "native" { Native }
    "bindings" { Invoke-Checked dotnet @("run", "--project", (Join-Path $Root "bindings/CnnNative.BindingsGen"), "-c", $Config) }
    "managed" { Native; Managed }
    "test" {
        Deps; Native; Managed
        Invoke-Checked ctest @("--test-dir", $NativeBuild, "-C", $Config, "--output-on-failure")
        Invoke-Checked dotnet @("run", "--project", (Join-Path $Root "bindings/CnnNative.BindingsGen"), "-c", $Config, "--", "--check")
        Invoke-Checked dotnet @("test", (Join-Path $Root "bindings/CnnNative.BindingsGen.Tests/CnnNative.BindingsGen.Tests.csproj"), "-c", $Config, "--no-build")
        Invoke-Checked dotnet @("test", (Join-Path $Root "tests/CnnNative.Tests/CnnNative.Tests.csproj"), "-c", $Config, "--no-build")
    }
    "demo" { Deps; Native; Managed; Invoke-Checked dotnet (@((Join-Path $Root "src/CnnNative.Cli/bin/$Config/net10.0/cnn.dll"), "demo") + $Rest) }
    "bench" { Deps; Native; Managed; Invoke-Checked dotnet (@("run", "-c", $Config, "--project", (Join-Path $Root "benchmarks/CnnNative.Benchmarks"), "--") + $Rest) }
    "verify" { Deps; Native; Managed; Verify $Rest }
    "onnxproto" { OnnxProto }
    "clean" { Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $Root "build"), (Join-Path $Root "artifacts") }
    default { throw "usage: .\build.ps1 [demo|test|bench|verify|onnxproto|deps|native|bindings|managed|clean]" }
}

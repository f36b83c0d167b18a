# build.ps1 — build.sh's verbs for Windows users (CI runs Linux; keep the two in step).
#   .\build.ps1 demo | test | bench | native | bindings | managed | clean
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
    # The oracle and the bindings generator need torch, onnx (the ONNX tests' reference) and libclang's
    # Python bindings. The ONNX C# classes are committed (src/CnnNative/Onnx/Generated); regenerating
    # them needs protoc 3.21.12 (./build.sh onnxproto on Linux: Debian's protobuf-compiler).
    & $Python -c "import torch, onnx, clang.cindex" 2>$null
    if ($LASTEXITCODE -ne 0) { Invoke-Checked $Python @("-m", "pip", "install", "--user", "torch", "torchvision", "onnx", "libclang") }
}

function Native {
    Invoke-Checked cmake @("-S", $Root, "-B", $NativeBuild)
    Invoke-Checked cmake @("--build", $NativeBuild, "--config", $Config, "--parallel")
    New-Item -ItemType Directory -Force $NativeOut | Out-Null
    Copy-Item (Join-Path $NativeBuild "native/$Config/cnnnative.dll") $NativeOut -Force
}

function Managed { Invoke-Checked dotnet @("build", (Join-Path $Root "CnnNative.sln"), "-c", $Config, "-p:CnnNativeLibDir=$NativeOut/") }

switch ($Verb) {
    "deps" { Deps }
    "native" { Native }
    "bindings" { Invoke-Checked $Python @((Join-Path $Root "bindings/generate_bindings.py")) }
    "managed" { Native; Managed }
    "test" {
        Deps; Native; Managed
        Invoke-Checked ctest @("--test-dir", $NativeBuild, "-C", $Config, "--output-on-failure")
        Invoke-Checked $Python @((Join-Path $Root "bindings/generate_bindings.py"), "--check")
        Invoke-Checked dotnet @("test", (Join-Path $Root "tests/CnnNative.Tests/CnnNative.Tests.csproj"), "-c", $Config, "--no-build")
    }
    "demo" { Deps; Native; Managed; Invoke-Checked dotnet (@((Join-Path $Root "src/CnnNative.Cli/bin/$Config/net10.0/cnn.dll"), "demo") + $Rest) }
    "bench" { Deps; Native; Managed; Invoke-Checked dotnet (@("run", "-c", $Config, "--project", (Join-Path $Root "benchmarks/CnnNative.Benchmarks"), "--") + $Rest) }
    "clean" { Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $Root "build"), (Join-Path $Root "artifacts") }
    default { throw "usage: .\build.ps1 [demo|test|bench|deps|native|bindings|managed|clean]" }
}

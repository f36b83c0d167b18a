# build.ps1 — build.sh's verbs in PowerShell, for Windows and Linux (CI runs `pwsh ./build.ps1 test` after
# `./build.sh test` so this script cannot rot). PowerShell itself comes as a local dotnet tool:
#   dotnet tool restore; dotnet tool run pwsh ./build.ps1 test      (or: pwsh ./build.ps1 test)
#   .\build.ps1 demo | test [-Filter X] | bench | verify | pack | onnxproto | deps | native | bindings | managed | clean
# test -Filter X passes X to `dotnet test --filter` (a slice of the xunit suite; ctest always runs whole).
# Data shared with build.sh lives in one file each: tests/verify/models.txt (the verify models),
# eng/python-deps.txt (the Python modules and their packages), VERSION (the version).
# bench on Windows runs the BenchmarkDotNet kernel suite only: oneDNN (the peer) and the PyTorch model
# runs come from Debian packages, so the side-by-side report (docs/benchmarks.md) is made on Linux.
param([Parameter(Position = 0)][string]$Verb = "test", [string]$Filter,
      [Parameter(ValueFromRemainingArguments = $true)]$Rest)
$ErrorActionPreference = "Stop"
# $IsWindows exists from PowerShell 6 on; this also holds in Windows PowerShell 5.1.
$OnWindows = [Environment]::OSVersion.Platform -eq [PlatformID]::Win32NT
# Plain text, not ANSI colours, in logs (CI).
if ($PSStyle -and [Console]::IsOutputRedirected) { $PSStyle.OutputRendering = "PlainText" }
$Root = $PSScriptRoot
$Config = "Release"
$NativeBuild = Join-Path $Root "build/native"
# Per OS, as the csproj expects (artifacts/native/<rid>/) and the runtime probes (runtimes/<rid>/native/).
$Rid, $NativeFile = if ($OnWindows) { "win-x64", "cnnnative.dll" } else { "linux-x64", "libcnnnative.so" }
$NativeOut = Join-Path $Root "artifacts/native/$Rid"
# Debian's python on Linux (with python3-torch etc., as build.sh), the one on PATH on Windows.
$Python = if ($env:CNN_PYTHON) { $env:CNN_PYTHON } elseif ($OnWindows) { "python" } else { "/usr/bin/python3" }
$env:DOTNET_CLI_TELEMETRY_OPTOUT = "1"; $env:DOTNET_NOLOGO = "1"

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

# Lines of a shared data file without comments and blank lines.
function Read-DataFile([string]$RelativePath) {
    Get-Content (Join-Path $Root $RelativePath) | Where-Object { $_ -notmatch '^\s*(#|$)' }
}

function Deps {
    if (-not $OnWindows) { Invoke-Checked bash @((Join-Path $Root "build.sh"), "deps"); return }  # apt-get, one list
    foreach ($tool in "cmake", "dotnet", $Python) {
        if (-not (Get-Command $tool -ErrorAction SilentlyContinue)) { throw "'$tool' is not on PATH: install it and re-run." }
    }
    # The ONNX fixtures' exporter and `cnn verify --weights` import these (the bindings generator is C#, libclang from NuGet). The ONNX C# classes are
    # committed (src/CnnNative/Onnx/Generated); regenerating them needs protoc 3.21.x (./build.sh onnxproto).
    $rows = Read-DataFile "eng/python-deps.txt" | ForEach-Object { , ($_ -split '\s+') }
    & $Python -c ("import " + (($rows | ForEach-Object { $_[0] }) -join ", ")) 2>$null
    if ($LASTEXITCODE -ne 0) { Invoke-Checked $Python (@("-m", "pip", "install", "--user") + ($rows | ForEach-Object { $_[2] })) }
}

function Native {
    Invoke-Checked cmake @("-S", $Root, "-B", $NativeBuild, "-DCMAKE_BUILD_TYPE=$Config")
    Invoke-Checked cmake @("--build", $NativeBuild, "--config", $Config, "--parallel")
    # Multi-config generators (Visual Studio) put it under native/<Config>/, single-config ones in native/.
    $built = @((Join-Path $NativeBuild "native/$Config/$NativeFile"), (Join-Path $NativeBuild "native/$NativeFile")) |
        Where-Object { Test-Path $_ } | Select-Object -First 1
    if (-not $built) { throw "the native build made no $NativeFile under $NativeBuild/native" }
    New-Item -ItemType Directory -Force $NativeOut | Out-Null
    Copy-Item $built $NativeOut -Force
}

function Managed { Invoke-Checked dotnet @("build", (Join-Path $Root "CnnNative.sln"), "-c", $Config, "-nologo", "-v", "quiet") }

# ctest, the xunit suite (whole, or the -Filter slice), then the same closing lines as build.sh
# (tests/summarize_results.py: "total: N passed, N failed"); non-zero when anything failed.
function Test {
    $out = Join-Path $Root "build/ps1"
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $out
    New-Item -ItemType Directory -Force $out | Out-Null
    $ctestLog = Join-Path $out "ctest.log"
    & ctest --test-dir $NativeBuild -C $Config --output-on-failure | Tee-Object -FilePath $ctestLog
    $results = Join-Path $out "testresults"
    Invoke-Checked dotnet @("run", "--project", (Join-Path $Root "bindings/CnnNative.BindingsGen"), "-c", $Config, "--", "--check")
    Invoke-Checked dotnet @("test", (Join-Path $Root "bindings/CnnNative.BindingsGen.Tests/CnnNative.BindingsGen.Tests.csproj"), "-c", $Config,
                            "--no-build", "-nologo", "--logger", "trx;LogFileName=bindingsgen.trx", "--results-directory", $results)
    $xunit = @("test", (Join-Path $Root "tests/CnnNative.Tests/CnnNative.Tests.csproj"), "-c", $Config, "--no-build", "-nologo",
               "--logger", "trx;LogFileName=results.trx", "--results-directory", $results)
    if ($Filter) { $xunit += @("--filter", $Filter) }
    # TorchSharp (the oracle) on a libstdc++ older than GCC 13: the shim build.sh uses, for this run only.
    $preload = ""
    if ($IsLinux) {
        $native = Join-Path $Root "tests/CnnNative.Tests/bin/$Config/net10.0/runtimes/linux-x64/native"
        $preload = (& bash (Join-Path $Root "tests/torchsharp-compat/setup.sh") $native (Join-Path $Root "build/torchsharp-compat")) -join ""
    }
    $env:LD_PRELOAD = $preload
    try { & dotnet @xunit } finally { Remove-Item Env:LD_PRELOAD -ErrorAction SilentlyContinue }
    # The verdict is the summary's: it counts failures from both runners and fails a run that ran nothing.
    Invoke-Checked $Python @((Join-Path $Root "tests/summarize_results.py"), $ctestLog, (Join-Path $out "testresults"))
}

function Pack {
    Invoke-Checked dotnet @("pack", (Join-Path $Root "src/CnnNative/CnnNative.csproj"), "-c", $Config, "-nologo", "-v", "quiet")
    $version = (Get-Content (Join-Path $Root "VERSION") -Raw).Trim()
    Get-Item (Join-Path $Root "artifacts/packages/CnnNative.$version.nupkg")
}

# tests/verify/verify_zoo.sh in PowerShell: every zoo model of tests/verify/models.txt, exported by PyTorch
# (safetensors and ONNX), through `cnn verify`; one line per model and format, non-zero when any fails.
function Verify([string[]]$Only) {
    $cnn = Join-Path $Root "src/CnnNative.Cli/bin/$Config/net10.0/cnn.dll"
    $out = Join-Path ([IO.Path]::GetTempPath()) ("cnn-verify-" + [Guid]::NewGuid())
    New-Item -ItemType Directory $out | Out-Null
    $passed = 0; $failed = 0
    try {
        foreach ($spec in Read-DataFile "tests/verify/models.txt") {
            $name, $shape, $classes = $spec.Split(":")
            if ($Only -and $Only -notcontains $name) { continue }
            & $Python (Join-Path $Root "tests/verify/export_zoo.py") $out 17 $spec
            if ($LASTEXITCODE -ne 0) { Write-Host "FAIL ${name}: export"; $failed += 2; continue }
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

switch ($Verb) {
    "deps" { Deps }
    "native" { Native }
    "bindings" { Invoke-Checked dotnet @("run", "--project", (Join-Path $Root "bindings/CnnNative.BindingsGen"), "-c", $Config) }
    "managed" { Native; Managed }
    "test" { Deps; Native; Managed; Test }
    "pack" { Deps; Native; Pack }
    "demo" { Deps; Native; Managed; Invoke-Checked dotnet (@((Join-Path $Root "src/CnnNative.Cli/bin/$Config/net10.0/cnn.dll"), "demo") + $Rest) }
    "bench" { Deps; Native; Managed; Invoke-Checked dotnet (@("run", "-c", $Config, "--project", (Join-Path $Root "benchmarks/CnnNative.Benchmarks"), "--") + $Rest) }
    "verify" { Deps; Native; Managed; Verify $Rest }
    "onnxproto" { OnnxProto }
    "clean" { Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $Root "build"), (Join-Path $Root "artifacts") }
    default { throw "usage: ./build.ps1 [demo|test [-Filter X]|bench|verify|pack|onnxproto|deps|native|bindings|managed|clean]" }
}

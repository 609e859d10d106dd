"""The app's photo conversion (pure Kotlin) against the golden vectors of docs/preprocessing.md, on the JVM.

`make test` installs the Kotlin compiler (scripts/install-tools.sh); without it this test fails, never skips.
"""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KOTLINC = ROOT / ".tools" / "node_modules" / "kotlin-compiler" / "bin" / "kotlinc"
SOURCES = [ROOT / "android_demo/app/src/main/java/org/fmnistedge/closet/PhotoConversion.kt",
           ROOT / "android_demo/app/src/test/java/org/fmnistedge/closet/GoldenConversionCheck.kt"]


@pytest.mark.slow
def test_kotlin_conversion_reproduces_every_golden_vector(tmp_path):
    assert KOTLINC.exists(), f"{KOTLINC} is missing: run `make tools` (bash scripts/install-tools.sh)"
    jar = tmp_path / "check.jar"
    compiled = subprocess.run([str(KOTLINC), *map(str, SOURCES), "-include-runtime", "-d", str(jar)],
                              capture_output=True, text=True, timeout=600)
    assert compiled.returncode == 0, compiled.stderr[-2000:]
    result = subprocess.run(["java", "-cp", str(jar), "org.fmnistedge.closet.GoldenConversionCheckKt",
                             str(ROOT / "tests/golden/preprocess")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    cases = len(list((ROOT / "tests/golden/preprocess").glob("*.png")))
    converted = len(list((ROOT / "tests/golden/preprocess").glob("*.expected.txt")))
    assert f"{cases} passed, 0 failed" in result.stdout.splitlines()
    # The spec's integer steps and its ordered double arithmetic leave no room for a port to differ.
    assert f"kotlin conversion: {converted} of {cases} golden pictures byte-identical" in result.stdout.splitlines()

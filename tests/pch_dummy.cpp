// Compiles the tests precompiled header; the executable itself is a trivial Catch2 runner.

// The translation unit that builds tests' precompiled header (precompiled.hpp); the test
// executables reuse it.

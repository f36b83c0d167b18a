// Defines std::ios_base_library_init(), which GCC 13's libstdc++ exports (GLIBCXX_3.4.32) and GCC 12's
// lacks. TorchSharp's native glue calls it once to initialise iostreams; constructing an
// ios_base::Init does exactly that on older libstdc++. Preloaded for the test run only (see setup.sh).
#include <ios>

namespace std {
__attribute__((visibility("default"))) void ios_base_library_init() { static ios_base::Init init; }
}

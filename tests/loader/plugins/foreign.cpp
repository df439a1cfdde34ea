// A shared library that has nothing to do with vitedit.
extern "C" __attribute__((visibility("default"))) int foreign_function(int x) { return x + 1; }


/* The expected lines and call chains assume unoptimised code, whatever CFLAGS the build uses. */
#pragma GCC optimize("O0")
// symcxx.cc - a C++ template method that allocates, for check_symbols: its function name must
// come out demangled as "Box<int>::fill()". Prints its site and "ready", exits at end of input.
#include <cstdio>

#include "symtarget.h"

template <typename T> struct Box {
	T *p;
	__attribute__((noinline)) void fill();
};

template <typename T> void Box<T>::fill()
{
	p = static_cast<T *>(my_malloc(sizeof(T) * 25000, __FILE__, __LINE__, 0));
}

template struct Box<int>;

int main()
{
	static Box<int> box;
	char line[64];

	box.fill();
	sym_print_site("cxx_fill");
	std::printf("ready\n");
	std::fflush(stdout);
	while (std::fgets(line, sizeof(line), stdin))
		;
	return 0;
}

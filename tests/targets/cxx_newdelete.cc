/* cxx_newdelete - C++ new/delete with known counts, through libstdc++'s default operators.
 *
 * Usage: cxx_newdelete [--wait] [ITERATIONS=1000]
 *
 * Prints "ready", then per iteration makes 7 allocations and 7 matching deletes, each on simple
 * types and each reaching the C allocator exactly once with libstdc++'s default operators:
 *
 *   new int / delete                              malloc / free
 *   new int[n] / delete[]                         malloc / free
 *   new Node (user constructor) / delete          malloc / free
 *   new Node[4] (array cookie) / delete[]         malloc / free
 *   new (std::nothrow) double / delete            malloc / free
 *   ::operator new(n) / ::operator delete(p)      malloc / free
 *   new Wide (alignas(64)) / delete               aligned_alloc / free
 *
 * and ends with "counts allocs=A frees=F", A = F = 7 * ITERATIONS (defaults: 7000 and 7000).
 * No std::vector or iostream: their allocations are not ours to count (libstdc++ also mallocs its
 * exception emergency pool at start-up, which is not counted either).
 *
 * An LD_PRELOADed jemalloc 5.3 brings its own operator new/delete, which do not go through
 * malloc/free: then "operator new is not libstdc++'s" is printed after "ready", and the counts
 * line still says what the program did, not what reached the C allocator.
 *
 * --wait: block SIGUSR1 before "ready", then wait for it before the first iteration, so a test
 *         can attach a tracer first and see every counted call.
 */
#include <dlfcn.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

struct Node {
	Node *next;
	long value;
	Node() : next(nullptr), value(42)
	{
	}
	~Node()
	{
		value = 0;
	}
};

struct alignas(64) Wide {
	char bytes[192];
};

/* every object is stored here before it is deleted: it escapes, so -O2 cannot drop the pair */
void *volatile sink;

static unsigned long n_allocs, n_frees;

template <typename T> static T *keep(T *p)
{
	if (p) {
		n_allocs++;
		sink = p;
	}
	return p;
}

/* Is the operator new this program binds the one in the same object as std::terminate? */
static bool is_libstdcxx_new()
{
	void *(*plain_new)(std::size_t) = ::operator new;
	void (*terminate)() = std::terminate;
	Dl_info new_info, terminate_info;

	if (!dladdr(reinterpret_cast<void *>(plain_new), &new_info) ||
	    !dladdr(reinterpret_cast<void *>(terminate), &terminate_info))
		return false;
	return new_info.dli_fbase == terminate_info.dli_fbase;
}

static __attribute__((noinline)) int newdelete_round(unsigned long i)
{
	int *one = keep(new int(static_cast<int>(i)));
	int *many = keep(new int[16 + i % 32]);
	Node *node = keep(new Node);
	Node *nodes = keep(new Node[4]);
	double *maybe = keep(new (std::nothrow) double(1.5));
	void *raw = keep(::operator new(100 + i % 100));
	Wide *wide = keep(new Wide);

	if (!maybe)
		return -1;
	many[0] = *one;
	node->next = &nodes[3];
	wide->bytes[0] = static_cast<char>(i);
	std::memset(raw, 0, 100);

	delete one;
	delete[] many;
	delete node;
	delete[] nodes;
	delete maybe;
	::operator delete(raw);
	delete wide;
	n_frees += 7;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long iterations = 1000;
	bool is_waiting = false;
	sigset_t go;
	int sig;

	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--wait"))
			is_waiting = true;
		else
			iterations = std::strtoul(argv[i], nullptr, 10);
	}

	sigemptyset(&go);
	sigaddset(&go, SIGUSR1);
	if (is_waiting && sigprocmask(SIG_BLOCK, &go, nullptr) < 0)
		return 1;
	std::printf("ready\n");
	if (!is_libstdcxx_new())
		std::printf("operator new is not libstdc++'s\n");
	std::fflush(stdout);
	if (is_waiting && sigwait(&go, &sig) != 0)
		return 1;

	for (unsigned long i = 0; i < iterations; i++)
		if (newdelete_round(i) < 0)
			return 1;
	std::printf("counts allocs=%lu frees=%lu\n", n_allocs, n_frees);
	std::fflush(stdout);
	return 0;
}

# The two commands: `make demo` runs the main job, `make test` runs the
# whole test suite. Both install what they need first (scripts/deps).
JOBS    ?= $(shell nproc)
CMAKE   ?= cmake
WERROR  ?= $(if $(CI),ON,OFF)
TESTARGS ?=

.PHONY: all deps build demo test test-tsan test-asan bench format format-check clean

all: build

deps:
	@scripts/deps

build: deps
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_WERROR=$(WERROR) >/dev/null
	@$(CMAKE) --build build -j $(JOBS)

demo: build
	@scripts/demo

test: build
	ctest --test-dir build --output-on-failure -j $(JOBS) $(TESTARGS)

# Sanitizer suites, built with clang (so the library is also checked to
# compile warning-free with clang). Any report fails the run.
build-%/CMakeCache.txt:
	@$(CMAKE) -S . -B build-$* -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DWEFT_WERROR=ON -DWEFT_BENCH=OFF \
	  -DWEFT_SANITIZE=$(if $(filter tsan,$*),thread,address) >/dev/null

test-tsan: deps build-tsan/CMakeCache.txt
	@$(CMAKE) --build build-tsan -j $(JOBS)
	ctest --test-dir build-tsan --output-on-failure -j $(JOBS) $(TESTARGS)

test-asan: deps build-asan/CMakeCache.txt
	@$(CMAKE) --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -j $(JOBS) $(TESTARGS)

bench:
	@scripts/deps bench
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build build -j $(JOBS)
	@for b in build/bench/*; do echo "== $$b"; $$b || exit 1; done

format:
	clang-format -i $$(git ls-files -co --exclude-standard '*.c' '*.h' '*.cpp')

format-check:
	clang-format --dry-run --Werror $$(git ls-files -co --exclude-standard '*.c' '*.h' '*.cpp')

clean:
	rm -rf build build-tsan build-asan

# Porcelain over CMake/CTest. Every target installs what is missing first.
BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
FUZZ_DIR  ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_CXX  ?= clang++-14
JOBS      ?= $(shell nproc)
CMAKE_FLAGS ?=

-include Makefile.local

.PHONY: all bootstrap build demo test test-fast asan fuzz fuzz-build fuzz-smoke clean format \
	format-check

all: build

bootstrap:
	@bash scripts/bootstrap

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: bootstrap $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	@bash examples/demo/run.sh $(BUILD_DIR)

# Every test: the normal build, then the same suites under ASan+UBSan, then each fuzz target
# for a few seconds over its seeds and regression inputs.
test: build format-check
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600
	$(MAKE) --no-print-directory asan
	$(MAKE) --no-print-directory fuzz-smoke

test-fast: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

asan: bootstrap
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DSHOTFARM_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS) --timeout 900

# The libFuzzer targets (fuzz/, docs/fuzzing.md): a clang build of only the libraries they
# need. clang's warnings are shown but not fatal here: the gcc builds are the -Werror gate.
fuzz-build: bootstrap
	@command -v $(FUZZ_CXX) >/dev/null || \
	    { echo "fuzz: $(FUZZ_CXX) not found (Debian: clang-14 libclang-rt-14-dev; make bootstrap)" >&2; exit 1; }
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) -DSHOTFARM_FUZZ=ON -DSHOTFARM_BUILD_TESTS=OFF \
	    -DSHOTFARM_WERROR=OFF -DSHOTFARM_FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) $(CMAKE_FLAGS)
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_targets

# Every target FUZZ_SECONDS seconds, one after the other (new inputs go to
# $(FUZZ_DIR)/fuzz/work/, never into the checked-in corpus).
fuzz: fuzz-build
	@failed=0; for t in $(FUZZ_DIR)/fuzz/fuzz_*; do \
	    if [ -f "$$t" ] && [ -x "$$t" ]; then \
	        fuzz/run.sh "$$t" $(FUZZ_SECONDS) $(FUZZ_DIR)/fuzz/work || failed=1; \
	    fi; \
	done; exit $$failed

# The smoke run of `make test`: every target FUZZ_SMOKE_SECONDS seconds under ctest.
fuzz-smoke: fuzz-build
	cd $(FUZZ_DIR) && ctest --output-on-failure -L fuzz --no-tests=error -j $(JOBS) --timeout 300

format:
	git ls-files '*.cpp' '*.hpp' | xargs -r clang-format -i

format-check:
	@git ls-files '*.cpp' '*.hpp' | xargs -r clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR) examples/demo/state examples/demo/out

bench-overnight: build
	bench/overnight/run --build-dir $(BUILD_DIR)
bench-ingest: build
	bench/ingest100k/run --build-dir $(BUILD_DIR)

# Porcelain over CMake/CTest. Every target installs what is missing first.
BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
JOBS      ?= $(shell nproc)
CMAKE_FLAGS ?=

-include Makefile.local

.PHONY: all bootstrap build demo test test-fast asan clean format format-check

all: build

bootstrap:
	@bash scripts/bootstrap

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: bootstrap $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	@bash examples/demo/run.sh $(BUILD_DIR)

# Every test: the normal build, then the same suites under ASan+UBSan.
test: build format-check
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600
	$(MAKE) --no-print-directory asan

test-fast: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

asan: bootstrap
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DSHOTFARM_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS) --timeout 900

format:
	git ls-files '*.cpp' '*.hpp' | xargs -r clang-format -i

format-check:
	@git ls-files '*.cpp' '*.hpp' | xargs -r clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) examples/demo/state examples/demo/out

bench-overnight: build
	bench/overnight/run --build-dir $(BUILD_DIR)
bench-ingest: build
	bench/ingest100k/run --build-dir $(BUILD_DIR)

# Thin wrapper over CMake. `make run ARGS="..."` builds and starts the server; `make test` builds
# the sanitizer build and runs every test (unit, crash, integration, fuzz smoke).
BUILD ?= build
TEST_BUILD ?= build-test
JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: all build run test test-build bench fuzz format clean

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@ln -sf $(BUILD)/compile_commands.json compile_commands.json

run: build
	exec $(BUILD)/vecstore-server $(ARGS)

test-build:
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVS_SANITIZE=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)

test: build test-build
	./scripts/run-tests.sh

bench: build
	@cmake --build $(BUILD) -j $(JOBS) --target bench

fuzz:
	./fuzz/run.sh 60

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TEST_BUILD)

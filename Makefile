# Thin wrappers around CMake. `make` is what plugin managers run as the build step
# (lazy.nvim `build = "make"`, packer `run = "make"`): it builds build/glm-server.
BUILD ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all build test test-lua deps clean

all: build

# Configure once; later runs only rebuild (an existing build dir keeps its own settings).
$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) --target glm-server -j $(JOBS)

# Everything, then every registered test (C++ units, protocol transcripts, Lua suite, tmux e2e).
test: $(BUILD)/CMakeCache.txt
	cmake -S . -B $(BUILD) -DGLM_BUILD_TESTS=ON
	cmake --build $(BUILD) -j $(JOBS)
	ctest --test-dir $(BUILD) --output-on-failure

# Only the headless Neovim suite.
test-lua: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) --target glm-server glm-mock-provider -j $(JOBS)
	tests/lua/run.sh $(BUILD)/glm-server $(BUILD)/glm-mock-provider

# Build dependencies on Debian/Ubuntu (Neovim and tmux are only needed for the tests).
deps:
	@echo "sudo apt-get install cmake ninja-build g++ libcurl4-openssl-dev nlohmann-json3-dev libasio-dev libspdlog-dev catch2 libssl-dev neovim tmux"

clean:
	rm -rf $(BUILD)

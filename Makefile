# Thin wrappers around CMake. `make` is what plugin managers run as the build step
# (lazy.nvim `build = "make"`, packer `run = "make"`): it builds build/glm-server (and the mock provider
# that ./scripts/run.sh's demo mode answers from). `make install` copies glm-server to $(PREFIX)/bin, where
# other editors' LSP configurations find it (docs/lsp.md).
BUILD ?= build
PREFIX ?= $(HOME)/.local
BUILD_TYPE ?= Release
JOBS ?= 2
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all build install helptags test test-lua deps clean

all: build

# Configure once; later runs only rebuild (an existing build dir keeps its own settings, e.g. a Debug or
# ASan dir given as BUILD=). The stamp is a file CMake's generate step writes (with any generator) only
# when configuring succeeded, so a configure that failed (say, a library not yet installed) is simply
# retried by the next `make` instead of leaving a cache with no build files.
STAMP := $(BUILD)/cmake_install.cmake
$(STAMP):
	cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: $(STAMP) doc/tags
	cmake --build $(BUILD) --target glm-server glm-mock-provider -j $(JOBS)

install: build
	cmake --install $(BUILD) --prefix "$(PREFIX)"
	@echo "glm-server installed as $(PREFIX)/bin/glm-server"

# Help tags, so `:help glm` works with plugin managers that do not run :helptags themselves (packer,
# native packages). Rebuilt when doc/glm.txt changes; skipped with a note when nvim is not on PATH.
helptags: doc/tags
doc/tags: doc/glm.txt
	@if command -v nvim >/dev/null 2>&1; then \
	  nvim --headless -u NONE -i NONE -n -c 'helptags doc' -c 'qa!' && test -f $@ && echo "doc/tags: help tags for :help glm"; \
	else echo "nvim not found: run ':helptags doc' in Neovim for :help glm"; fi

# Everything: installs what is missing, builds (normal + ASan/UBSan) and runs every test (README).
test:
	./scripts/test.sh

# Only the headless Neovim suite.
test-lua: $(STAMP)
	cmake --build $(BUILD) --target glm-server glm-mock-provider -j $(JOBS)
	tests/lua/run.sh $(BUILD)/glm-server $(BUILD)/glm-mock-provider

# Build and test dependencies from Debian's packages (root or sudo).
deps:
	./scripts/deps.sh

clean:
	rm -rf $(BUILD)

# The README's Quick start: `make demo` and `make test`. Both run scripts/bootstrap.sh first, which installs
# the Debian packages a fresh machine lacks, so the Swift toolchain is all a Debian 12 machine needs.
SWIFT ?= swift

.PHONY: demo test bootstrap fixtures

demo: bootstrap
	$(SWIFT) build -c release --product unet
	.build/release/unet demo

# Optimized (-O) but a debug build: the suite trains real networks at a useful speed, and debug-only checks (the
# memory plan's stale-read check, preconditions) stay on.
test: bootstrap
	$(SWIFT) test -Xswiftc -O

bootstrap:
	@scripts/bootstrap.sh

# Regenerates the committed PyTorch fixtures (developers only; needs torch in .venv, see scripts/make_fixtures.py).
fixtures:
	.venv/bin/python scripts/make_fixtures.py

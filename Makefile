# The README's Quick start: `make demo` and `make test`. Both run scripts/bootstrap.sh first, which installs
# the Debian packages a fresh machine lacks, so the Swift toolchain is all a Debian 12 machine needs.
SWIFT ?= swift

.PHONY: demo test bootstrap fixtures

demo: bootstrap
	$(SWIFT) build -c release --product unet
	.build/release/unet demo

test: bootstrap
	$(SWIFT) test

bootstrap:
	@scripts/bootstrap.sh

# Regenerates the committed PyTorch fixtures (developers only; needs torch in .venv, see scripts/make_fixtures.py).
fixtures:
	.venv/bin/python scripts/make_fixtures.py

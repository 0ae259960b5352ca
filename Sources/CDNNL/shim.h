// The oneDNN 2.6 C API (Debian libdnnl-dev). Only the DNNL target imports this module.
#include <oneapi/dnnl/dnnl.h>

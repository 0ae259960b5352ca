// The oneDNN 2.6 C API (Debian libdnnl-dev). Only the DNNL target imports this module.
#include <oneapi/dnnl/dnnl.h>
// glibc's allocator tuning (mallopt), for returning large freed buffers to the system.
#include <malloc.h>

// Open MPI's C API (Debian libopenmpi-dev, found through pkg-config's ompi-c). Only the Distributed target
// imports this module. MPI's handles are macros over Open MPI's globals, which Swift cannot import: the
// functions below name them.
#include <mpi.h>

static inline MPI_Comm unet_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype unet_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype unet_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype unet_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op unet_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op unet_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op unet_mpi_min(void) { return MPI_MIN; }
static inline MPI_Request unet_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline void *unet_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *unet_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Errhandler unet_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }

// CMPI: Open MPI's C API for Swift. <mpi.h> imports as is, except its predefined handles
// (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, MPI_ERRORS_RETURN ...), which are macros
// that take the address of a library global: Swift cannot import those, so each gets a
// static inline function here. Leaves out every handle the Distributed target does not use.
#ifndef RLHF_CMPI_SHIM_H
#define RLHF_CMPI_SHIM_H

#include <mpi.h>

static inline MPI_Comm rlhf_mpi_comm_world(void) { return MPI_COMM_WORLD; }

static inline MPI_Datatype rlhf_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype rlhf_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype rlhf_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype rlhf_mpi_byte(void) { return MPI_BYTE; }

static inline MPI_Op rlhf_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op rlhf_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op rlhf_mpi_min(void) { return MPI_MIN; }

static inline void *rlhf_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler rlhf_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }

static inline int rlhf_mpi_success(void) { return MPI_SUCCESS; }
static inline int rlhf_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int rlhf_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }

#endif

// Open MPI's predefined handles are macros over addresses of global structs, which Swift cannot import.
// These accessors hand them to Swift; nothing else belongs here.
#ifndef TTM_CMPI_SHIM_H
#define TTM_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm ttm_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm ttm_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype ttm_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype ttm_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype ttm_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype ttm_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype ttm_mpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Op ttm_mpi_op_sum(void) { return MPI_SUM; }
static inline MPI_Op ttm_mpi_op_max(void) { return MPI_MAX; }
static inline MPI_Op ttm_mpi_op_min(void) { return MPI_MIN; }
static inline void *ttm_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *ttm_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Errhandler ttm_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request ttm_mpi_request_null(void) { return MPI_REQUEST_NULL; }

#endif

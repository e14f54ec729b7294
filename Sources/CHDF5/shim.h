// HDF5's predefined types, property-list classes and flags are macros that call H5open() or expand to globals;
// Swift cannot import them (and H5P_DEFAULT imports with the wrong type). These accessors hand them to Swift.
#ifndef TTM_CHDF5_SHIM_H
#define TTM_CHDF5_SHIM_H
#include <hdf5.h>

static inline hid_t ttm_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t ttm_h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t ttm_h5s_all(void) { return H5S_ALL; }
static inline hid_t ttm_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t ttm_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t ttm_h5p_file_create(void) { return H5P_FILE_CREATE; }
static inline H5F_libver_t ttm_h5f_libver_latest(void) { return H5F_LIBVER_LATEST; }
static inline hid_t ttm_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t ttm_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t ttm_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t ttm_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t ttm_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t ttm_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t ttm_h5t_c_s1(void) { return H5T_C_S1; }
static inline unsigned ttm_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned ttm_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned ttm_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned ttm_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline size_t ttm_h5t_variable(void) { return H5T_VARIABLE; }

#endif

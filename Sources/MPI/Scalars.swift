import CMPI

/// Element types MPI can move and reduce. The mapping to MPI datatypes stays inside this module.
public protocol MPIScalar: Sendable {
    static var mpiScalarKind: MPIScalarKind { get }
}

public enum MPIScalarKind: Sendable { case float, double, int32, int64, uint8 }

extension Float: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .float } }
extension Double: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .double } }
extension Int32: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .int32 } }
extension Int64: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .int64 } }
extension UInt8: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .uint8 } }

/// Reductions offered by `Communicator.allreduce`.
public enum ReductionOp: Sendable { case sum, max, min }

extension MPIScalarKind {
    var datatype: MPI_Datatype {
        switch self {
        case .float: ttm_mpi_float()
        case .double: ttm_mpi_double()
        case .int32: ttm_mpi_int32()
        case .int64: ttm_mpi_int64()
        case .uint8: ttm_mpi_uint8()
        }
    }
}

extension ReductionOp {
    var handle: MPI_Op {
        switch self {
        case .sum: ttm_mpi_op_sum()
        case .max: ttm_mpi_op_max()
        case .min: ttm_mpi_op_min()
        }
    }
}

import CMPI
import Foundation

/// The processes of one job, as `torch.distributed`'s default process group: under `mpirun` or `srun` the job's
/// ranks over MPI (`MPI_COMM_WORLD`), otherwise this process alone, where every collective is the identity and no
/// MPI function is called.
///
/// Collectives are called by every rank in the same order with buffers of the same element count (MPI's rule); a
/// failed one throws `DistributedError`. Call them from one thread at a time.
///
///     let group = ProcessGroup.world
///     try group.allReduce(&losses, .sum)          // every rank gets the sum
///     let work = try group.allReduceStarted(buffer) // non-blocking: overlap with other work, then work.wait()
public final class ProcessGroup: @unchecked Sendable {
    /// This process's rank, `0..<worldSize`.
    public let rank: Int
    /// Ranks in the job.
    public let worldSize: Int
    /// Ranks of the job on this host (for sharing its cores between them).
    public let localSize: Int
    /// Whether MPI carries the collectives (false: one process, no MPI).
    public let usesMPI: Bool
    private var finalized = false

    /// The job this process belongs to: MPI is initialised on first use when a launcher started the process.
    /// - Note: a failure to initialise MPI under a launcher ends the process with one line on standard error.
    public static let world: ProcessGroup = {
        guard let launcher = Launcher.current() else { return ProcessGroup() }
        do {
            return try ProcessGroup(launcher: launcher)
        } catch {
            // Best effort and never a trap (FileHandle.write traps when the write fails).
            _ = "unet: error: \(error)\n".utf8CString.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
            exit(1)
        }
    }()

    /// This process alone.
    public init() {
        (rank, worldSize, localSize, usesMPI) = (0, 1, 1, false)
    }

    private init(launcher: Launcher) throws {
        var provided: Int32 = 0
        try Self.check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided), "MPI_Init_thread")
        guard provided >= Int32(MPI_THREAD_SERIALIZED) else {
            throw DistributedError("MPI: this MPI library does not allow calls from more than one thread (MPI_THREAD_SERIALIZED)")
        }
        // Failures come back as error codes (thrown) instead of aborting the job from inside MPI.
        try Self.check(MPI_Comm_set_errhandler(unet_mpi_comm_world(), unet_mpi_errors_return()), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0
        var size: Int32 = 0
        try Self.check(MPI_Comm_rank(unet_mpi_comm_world(), &rank), "MPI_Comm_rank")
        try Self.check(MPI_Comm_size(unet_mpi_comm_world(), &size), "MPI_Comm_size")
        (self.rank, worldSize, usesMPI) = (Int(rank), Int(size), true)
        localSize = max(1, min(launcher.localSize, Int(size)))
    }

    /// Ends MPI (every rank must call it, once, after its last collective); nothing without MPI.
    public func finalize() {
        guard usesMPI, !finalized else { return }
        finalized = true
        MPI_Finalize()
    }

    /// Whether this is rank 0, the one that writes files and reports progress.
    public var isPrimary: Bool { rank == 0 }

    // MARK: - Collectives

    /// Combines `values` element-wise across ranks with `op`; every rank receives the result in place.
    public func allReduce(_ values: inout [Float], _ op: ReduceOp = .sum) throws {
        try values.withUnsafeMutableBufferPointer { try allReduce($0, op) }
    }

    /// Combines `values` element-wise across ranks with `op`, in place.
    public func allReduce(_ values: inout [Double], _ op: ReduceOp = .sum) throws {
        try allReduce(&values, unet_mpi_double(), op)
    }

    /// Combines `values` element-wise across ranks with `op`, in place.
    public func allReduce(_ values: inout [Int64], _ op: ReduceOp = .sum) throws {
        try allReduce(&values, unet_mpi_int64(), op)
    }

    /// `MPI_Allreduce` in place of `values`, whose elements are MPI's `type`.
    private func allReduce<T>(_ values: inout [T], _ type: MPI_Datatype?, _ op: ReduceOp) throws {
        guard usesMPI, !values.isEmpty else { return }
        try values.withUnsafeMutableBufferPointer {
            try Self.check(MPI_Allreduce(unet_mpi_in_place(), $0.baseAddress, Int32($0.count), type, op.mpi, unet_mpi_comm_world()),
                           "MPI_Allreduce")
        }
    }

    /// Combines `buffer` element-wise across ranks with `op`, in place.
    public func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp = .sum) throws {
        try allReduceStarted(buffer, op).wait()
    }

    /// Starts combining `buffer` element-wise across ranks (`MPI_Iallreduce`, in place) and returns at once; the
    /// result is in `buffer` once the returned work completes.
    /// - Precondition: `buffer` stays valid and untouched until then.
    public func allReduceStarted(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp = .sum) throws -> Work {
        guard usesMPI, !buffer.isEmpty else { return Work() }
        precondition(buffer.count <= Int(Int32.max), "ProcessGroup: a collective of more than 2^31 elements")
        var request: MPI_Request? = unet_mpi_request_null()
        try Self.check(MPI_Iallreduce(unet_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), unet_mpi_float(), op.mpi,
                                      unet_mpi_comm_world(), &request), "MPI_Iallreduce")
        return Work(request)
    }

    /// Replaces `buffer` on every rank with rank `root`'s.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, from root: Int = 0) throws {
        guard usesMPI, !buffer.isEmpty else { return }
        var offset = 0
        while offset < buffer.count {  // in pieces: MPI counts are 32-bit
            let count = min(buffer.count - offset, 1 << 30)
            try Self.check(MPI_Bcast(buffer.baseAddress! + offset, Int32(count), unet_mpi_float(), Int32(root), unet_mpi_comm_world()), "MPI_Bcast")
            offset += count
        }
    }

    /// Every rank's `value`, in rank order.
    public func allGather(_ value: Int64) throws -> [Int64] {
        guard usesMPI else { return [value] }
        var mine = value
        var all = [Int64](repeating: 0, count: worldSize)
        try all.withUnsafeMutableBufferPointer {
            try Self.check(MPI_Allgather(&mine, 1, unet_mpi_int64(), $0.baseAddress, 1, unet_mpi_int64(), unet_mpi_comm_world()), "MPI_Allgather")
        }
        return all
    }

    /// Waits until every rank has called it.
    public func barrier() throws {
        guard usesMPI else { return }
        try Self.check(MPI_Barrier(unet_mpi_comm_world()), "MPI_Barrier")
    }

    /// The contiguous share of `count` items that this rank takes: `count / worldSize` each, the first
    /// `count % worldSize` ranks one more (rank 0 holds the first items).
    public func share(of count: Int) -> Range<Int> { Self.share(of: count, rank: rank, worldSize: worldSize) }

    /// Rank `rank`'s share of `count` items among `worldSize` ranks (see `share(of:)`).
    public static func share(of count: Int, rank: Int, worldSize: Int) -> Range<Int> {
        let (base, extra) = count.quotientAndRemainder(dividingBy: worldSize)
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }

    static func check(_ code: Int32, _ call: String) throws {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let message = String(decoding: text.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw DistributedError("MPI \(call) failed: \(message)")
    }
}

extension ReduceOp {
    var mpi: MPI_Op? {
        switch self {
        case .sum: unet_mpi_sum()
        case .max: unet_mpi_max()
        case .min: unet_mpi_min()
        }
    }
}

import CMPI

/// A non-blocking collective in flight (`torch.distributed`'s `Work`): its buffer holds the result once
/// `isCompleted()` says so or `wait()` returns.
public final class Work {
    private var request: MPI_Request?
    private var done: Bool

    /// Completed already (one process: nothing to exchange).
    init() {
        (request, done) = (unet_mpi_request_null(), true)
    }

    init(_ request: MPI_Request?) {
        (self.request, done) = (request, false)
    }

    /// Whether the collective has completed; also moves it on (MPI progresses non-blocking collectives in calls).
    public func isCompleted() throws -> Bool {
        guard !done else { return true }
        var flag: Int32 = 0
        try ProcessGroup.check(MPI_Test(&request, &flag, unet_mpi_status_ignore()), "MPI_Test")
        done = flag != 0
        return done
    }

    /// Waits for the collective to complete.
    public func wait() throws {
        guard !done else { return }
        try ProcessGroup.check(MPI_Wait(&request, unet_mpi_status_ignore()), "MPI_Wait")
        done = true
    }
}

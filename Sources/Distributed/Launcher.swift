import Foundation

/// What the launcher that started this process (`mpirun`, `srun`) says about the job, read from the environment
/// before MPI is initialised: whether there is a job at all, and how many of its ranks share this host.
public struct Launcher: Sendable {
    /// Ranks in the job.
    public let worldSize: Int
    /// Ranks of the job on this host.
    public let localSize: Int

    /// The job this process belongs to, or nil when no launcher started it (a plain `unet ...`: one process, no MPI).
    /// Open MPI's `mpirun` sets `OMPI_COMM_WORLD_SIZE`; Slurm's `srun` with PMIx or PMI-2 sets `PMIX_RANK` or
    /// `PMI_SIZE`, and `SLURM_NTASKS` / `SLURM_NTASKS_PER_NODE`.
    public static func current(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Launcher? {
        func number(_ keys: String...) -> Int? {
            for key in keys { if let value = environment[key].flatMap({ Int($0.prefix { $0.isNumber }) }), value > 0 { return value } }
            return nil
        }
        let launched = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"].contains { environment[$0] != nil }
        guard launched else { return nil }
        let world = number("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS") ?? 1
        let local = number("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE") ?? 1
        return Launcher(worldSize: world, localSize: min(local, world))
    }
}

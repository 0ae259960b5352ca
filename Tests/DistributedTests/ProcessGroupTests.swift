import Distributed
import Testing

@Suite("ProcessGroup and Launcher (one process; the ranks are tested under mpirun by CLITests)")
struct ProcessGroupTests {
    @Test("the launcher is read from mpirun's and srun's variables, and absent without them")
    func launcher() {
        #expect(Launcher.current([:]) == nil)
        #expect(Launcher.current(["SLURM_NTASKS": "4"]) == nil, "Slurm alone (sbatch without srun) is not an MPI job")
        let openMPI = Launcher.current(["OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_SIZE": "2", "OMPI_COMM_WORLD_RANK": "3"])
        #expect(openMPI?.worldSize == 4 && openMPI?.localSize == 2)
        let slurm = Launcher.current(["PMIX_RANK": "0", "SLURM_NTASKS": "8", "SLURM_NTASKS_PER_NODE": "4(x2)"])
        #expect(slurm?.worldSize == 8 && slurm?.localSize == 4)
        let nonsense = Launcher.current(["OMPI_COMM_WORLD_SIZE": "-3", "OMPI_COMM_WORLD_LOCAL_SIZE": "x"])
        #expect(nonsense?.worldSize == 1 && nonsense?.localSize == 1)
    }

    @Test("shares are contiguous, cover every item once, and differ by at most one")
    func shares() {
        for worldSize in 1...5 {
            for count in 0...13 {
                let ranges = (0..<worldSize).map { ProcessGroup.share(of: count, rank: $0, worldSize: worldSize) }
                #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == count)
                for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound && a.count - b.count <= 1 && a.count >= b.count) }
            }
        }
    }

    @Test("one process: rank 0 of 1, every collective leaves the values as they are")
    func single() throws {
        let group = ProcessGroup()
        #expect(group.rank == 0 && group.worldSize == 1 && group.isPrimary && !group.usesMPI)
        var floats: [Float] = [1, -2, 3]
        try group.allReduce(&floats, .sum)
        var doubles: [Double] = [0.5]
        try group.allReduce(&doubles, .max)
        var integers: [Int64] = [7, 8]
        try group.allReduce(&integers, .min)
        #expect(floats == [1, -2, 3] && doubles == [0.5] && integers == [7, 8])
        #expect(try group.allGather(42) == [42])
        try floats.withUnsafeMutableBufferPointer { buffer in
            let work = try group.allReduceStarted(buffer)
            #expect(try work.isCompleted())
            try group.broadcast(buffer, from: 0)
        }
        #expect(floats == [1, -2, 3])
        try group.barrier()
        #expect(group.share(of: 10) == 0..<10)
    }
}

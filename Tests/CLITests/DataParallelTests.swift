import Checkpoints
import Foundation
import TestSupport
import Testing

/// `mpirun -np 2 unet ...`: data-parallel training equals one process with the global batch, resumes, survives a
/// lost rank and SIGINT; prediction and evaluation shard the images. Open MPI comes from the bootstrap.
@Suite("mpirun: data-parallel training, sharded prediction and evaluation", .serialized)
struct DataParallelTests {
    static func requireMPI() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CommandRunner.mpirunPath),
                     "\(CommandRunner.mpirunPath) is missing: run scripts/bootstrap.sh (it installs openmpi-bin)")
    }

    /// The JSON objects of a metrics log.
    static func records(_ log: String, kind: String) throws -> [[String: Any]] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["kind"] as? String == kind }
    }

    /// A checkpoint's model tensors (not the optimizer's state) and its training step.
    static func checkpoint(_ path: String) throws -> (tensors: [String: [Float]], step: Int) {
        let file = try SafeTensorsFile.read(path: path)
        var tensors: [String: [Float]] = [:]
        for (key, stored) in file.tensors where !key.hasPrefix("optimizer.") {
            tensors[key] = stored.floatTensor().withUnsafeBufferPointer { Array($0) }
        }
        let state = try #require(file.metadata["unet.training"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any])
        return (tensors, try #require(json["step"] as? Int))
    }

    /// The largest per-tensor relative L2 difference.
    static func largestDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Double {
        var worst = 0.0
        for (key, x) in a {
            guard let y = b[key], y.count == x.count else { return .infinity }
            let difference = zip(x, y).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
            let norm = x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            worst = max(worst, difference / max(norm, 1e-12))
        }
        return worst
    }

    /// The relative L2 difference of all tensors together (tiny tensors whose values are sums that nearly cancel,
    /// such as batch norm's shifts, weigh as little as they matter).
    static func overallDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Double {
        var (difference, norm) = (0.0, 0.0)
        for (key, x) in a {
            guard let y = b[key], y.count == x.count else { return .infinity }
            for (u, v) in zip(x, y) { (difference, norm) = (difference + Double(u - v) * Double(u - v), norm + Double(u) * Double(u)) }
        }
        return (difference / max(norm, 1e-30)).squareRoot()
    }

    static func data(_ name: String) throws -> (folder: URL, arguments: [String]) {
        let folder = try SyntheticData.temporaryFolder(name)
        let (images, masks) = try SyntheticData.writeDiscs(to: folder.appendingPathComponent("train"), count: 8, size: 32, seed: 1)
        let (valImages, valMasks) = try SyntheticData.writeDiscs(to: folder.appendingPathComponent("val"), count: 3, size: 32, seed: 2)
        return (folder, ["train", "--images", images, "--masks", masks, "--val-images", valImages, "--val-masks", valMasks,
                         "--in-channels", "1", "--scale", "1", "--seed", "1"])
    }

    @Test("2 ranks with batch 2 train as 1 process with batch 4: the same losses, validation metrics and weights; rank 0 alone writes (TensorBoard too); --resume under mpirun continues exactly",
          arguments: ["1", "0"])
    func equalsOneProcess(clip: String) throws {
        try Self.requireMPI()
        let (folder, common) = try Self.data("unet-ddp-equal")
        defer { try? FileManager.default.removeItem(at: folder) }
        // No batch norm (instance norm is per image), cross-entropy (a mean over pixels) and plain SGD: in exact
        // arithmetic the mean of the ranks' gradients is the batch-4 gradient.
        // --clip 1 exchanges the gradients into .grad before clipping; --clip 0 updates each bucket as it arrives.
        let network = ["--arch", "basic-unet", "--features", "8,8,16,16,32,8", "--norm", "instance", "--loss", "ce",
                       "--optimizer", "sgd", "--momentum", "0", "-l", "0.01", "--validate-every", "10", "--clip", clip, "--bucket-mb", "0.01"]
        let single = folder.path + "/single", parallel = folder.path + "/parallel", resumed = folder.path + "/resumed"
        let one = try CommandRunner.unet(common + network + ["--steps", "20", "-b", "4", "--threads", "1", "--output-dir", single])
        #expect(one.status == 0, "\(one.error)")
        let two = try CommandRunner.mpirun(2, common + network + ["--steps", "20", "-b", "2", "--output-dir", parallel, "--tensorboard"])
        #expect(two.status == 0, "\(two.error)")
        #expect(two.error.contains("steps of 4 (2 on each of 2 ranks"), "\(two.error)")
        // Rank 0 alone reports and writes.
        #expect(two.error.components(separatedBy: "training ").count == 2, "\(two.error)")
        #expect(two.output.components(separatedBy: "best: ").count == 2, "\(two.output)")
        let written = try FileManager.default.contentsOfDirectory(atPath: parallel)
        #expect(Set(written.filter { !$0.hasPrefix("events.out.tfevents.") }) == Set(try FileManager.default.contentsOfDirectory(atPath: single)))
        #expect(written.filter { $0.hasPrefix("events.out.tfevents.") }.count == 1, "one TensorBoard log, rank 0's: \(written)")

        let (lossesOne, lossesTwo) = (try Self.records(single + "/metrics.jsonl", kind: "step"), try Self.records(parallel + "/metrics.jsonl", kind: "step"))
        #expect(lossesOne.count == 20 && lossesTwo.count == 20)
        // Equal up to the order of float sums: the gray image's weight gradient runs oneDNN's blocked kernel, which
        // reduces a batch of 4 and two batches of 2 in different orders (differences of 1e-5; a wrong average is 1e-2).
        for (a, b) in zip(lossesOne, lossesTwo) {
            let (x, y) = (try #require(a["loss"] as? Double), try #require(b["loss"] as? Double))
            #expect(abs(x - y) <= 1e-4 * abs(x), "step \(a["step"] ?? "?"): \(x) against \(y)")
        }
        let first = try #require(lossesOne.first?["loss"] as? Double), last = try #require(lossesOne.last?["loss"] as? Double)
        #expect(last < 0.9 * first, "the network trained: the comparison is not between untouched weights")
        // Validation, split between the ranks, scores as one process does.
        let (validationOne, validationTwo) = (try Self.records(single + "/metrics.jsonl", kind: "validation"),
                                             try Self.records(parallel + "/metrics.jsonl", kind: "validation"))
        #expect(validationOne.count == 2 && validationTwo.count == 2)
        for (a, b) in zip(validationOne, validationTwo) {
            for key in ["loss", "dice", "meanIoU", "pixelAccuracy"] {
                let (x, y) = (try #require(a[key] as? Double), try #require(b[key] as? Double))
                #expect(abs(x - y) <= 1e-4, "\(key) at step \(a["step"] ?? "?"): \(x) against \(y)")
            }
        }
        let (weightsOne, weightsTwo) = (try Self.checkpoint(single + "/last.safetensors"), try Self.checkpoint(parallel + "/last.safetensors"))
        #expect(weightsOne.step == 20 && weightsTwo.step == 20)
        #expect(Self.largestDifference(weightsOne.tensors, weightsTwo.tensors) <= 1e-4)

        // Stopped at step 10 and resumed under mpirun: the uninterrupted run's weights.
        let half = try CommandRunner.mpirun(2, common + network + ["--steps", "10", "-b", "2", "--output-dir", resumed])
        #expect(half.status == 0, "\(half.error)")
        let rest = try CommandRunner.mpirun(2, common + network + ["--steps", "20", "-b", "2", "--output-dir", resumed,
                                                                   "--resume", resumed + "/last.safetensors"])
        #expect(rest.status == 0 && rest.error.contains("resumed"), "\(rest.error)")
        let weightsResumed = try Self.checkpoint(resumed + "/last.safetensors")
        #expect(weightsResumed.step == 20)
        #expect(Self.largestDifference(weightsTwo.tensors, weightsResumed.tensors) <= 1e-6)
    }

    @Test("--sync-bn: 2 ranks with batch 2 train a batch-norm U-Net as 1 process with batch 4, running statistics included; without it they differ")
    func synchronizedBatchNorm() throws {
        try Self.requireMPI()
        let (folder, common) = try Self.data("unet-ddp-syncbn")
        defer { try? FileManager.default.removeItem(at: folder) }
        let network = ["--base", "8", "--depth", "2", "--loss", "ce", "--optimizer", "sgd", "--momentum", "0", "-l", "0.002",
                       "--validate-every", "10", "--steps", "20", "--clip", "0"]
        let (single, synchronized, separate) = (folder.path + "/single", folder.path + "/sync", folder.path + "/separate")
        let one = try CommandRunner.unet(common + network + ["-b", "4", "--threads", "1", "--output-dir", single])
        #expect(one.status == 0, "\(one.error)")
        let two = try CommandRunner.mpirun(2, common + network + ["-b", "2", "--sync-bn", "--output-dir", synchronized])
        #expect(two.status == 0, "\(two.error)")
        let apart = try CommandRunner.mpirun(2, common + network + ["-b", "2", "--output-dir", separate])
        #expect(apart.status == 0, "\(apart.error)")
        let losses = try [single, synchronized, separate].map { try Self.records($0 + "/metrics.jsonl", kind: "step").map { $0["loss"] as? Double ?? .nan } }
        #expect(losses[0].count == 20 && losses[1].count == 20)
        // Batch statistics summed over ranks round differently from one pass over the batch of 4, and batch norm
        // amplifies rounding from step to step (one process on 1 and on 2 threads drifts apart as much): 1e-4.
        for (step, (x, y)) in zip(losses[0], losses[1]).enumerated() { #expect(abs(x - y) <= 1e-4 * abs(x), "step \(step + 1): \(x) against \(y)") }
        #expect(losses[0].last! < 0.95 * losses[0].first!, "the network trained")
        let weights = try [single, synchronized, separate].map { try Self.checkpoint($0 + "/last.safetensors").tensors }
        #expect(weights[0].keys.contains { $0.hasSuffix("running_var") })
        let (synchronizedDifference, separateDifference) = (Self.overallDifference(weights[0], weights[1]), Self.overallDifference(weights[0], weights[2]))
        #expect(synchronizedDifference <= 1e-5)
        #expect(separateDifference > 100 * synchronizedDifference, "per-rank batch norm should differ from the batch of 4: \(separateDifference)")
    }

    @Test("--deep-supervision on a classic U-Net under mpirun: 2 ranks with batch 2 train the network and its added heads as 1 process with batch 4")
    func deepSupervision() throws {
        try Self.requireMPI()
        let (folder, common) = try Self.data("unet-ddp-ds")
        defer { try? FileManager.default.removeItem(at: folder) }
        let network = ["--base", "4", "--depth", "3", "--deep-supervision", "--loss", "ce", "--optimizer", "sgd", "--momentum", "0",
                       "-l", "0.01", "--validate-every", "5", "--steps", "10"]
        let (single, parallel) = (folder.path + "/single", folder.path + "/parallel")
        let one = try CommandRunner.unet(common + network + ["-b", "4", "--threads", "1", "--output-dir", single])
        #expect(one.status == 0, "\(one.error)")
        let two = try CommandRunner.mpirun(2, common + network + ["-b", "2", "--sync-bn", "--output-dir", parallel])
        #expect(two.status == 0 && two.error.contains("1x1 heads added for training"), "\(two.error)")
        let losses = try [single, parallel].map { try Self.records($0 + "/metrics.jsonl", kind: "step").map { $0["loss"] as? Double ?? .nan } }
        #expect(losses[0].count == 10 && losses[1].count == 10)
        for (step, (x, y)) in zip(losses[0], losses[1]).enumerated() { #expect(abs(x - y) <= 1e-4 * abs(x), "step \(step + 1): \(x) against \(y)") }
        // The heads, kept in last.safetensors beside the optimizer's state, trained alike on both.
        let heads = try [single, parallel].map { path in
            let file = try SafeTensorsFile.read(path: path + "/last.safetensors")
            return Dictionary(file.tensors.filter { $0.key.hasPrefix("optimizer.deep_supervision.") }
                .map { ($0.key, $0.tensor.floatTensor().withUnsafeBufferPointer { Array($0) }) }, uniquingKeysWith: { a, _ in a })
        }
        #expect(heads[0].count == 4)
        #expect(Self.overallDifference(heads[0], heads[1]) <= 1e-4)
        #expect(Self.overallDifference(try Self.checkpoint(single + "/last.safetensors").tensors,
                                       try Self.checkpoint(parallel + "/last.safetensors").tensors) <= 1e-4)
    }

    @Test("a rank killed with -9 ends the job within 30 s naming it; last.safetensors is intact and --resume continues, on another rank count too")
    func lostRank() throws {
        try Self.requireMPI()
        let (folder, common) = try Self.data("unet-ddp-lost")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.path + "/run"
        let network = common + ["--base", "4", "--depth", "2", "--validate-every", "2"]
        let arguments = network + ["-b", "2", "--steps", "1000000", "--output-dir", run]
        // Rank 1 is killed once a checkpoint exists (`exec` keeps the shell's process id for unet).
        let killer = "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then (while [ ! -e '\(run)/last.safetensors' ]; do sleep 0.1; done; "
            + "sleep 1; kill -9 $$) & fi; exec \"$UNET\" \"$@\""
        let process = CommandRunner.mpirunProcess(2, ["/bin/sh", "-c", killer, "sh"] + arguments)
        let started = Date()
        let result = try CommandRunner.capture(process, in: nil)
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status != 0)
        #expect(seconds < 60, "the job took \(seconds) s to end after losing a rank")
        #expect(result.error.contains("rank 1"), "\(result.error)")
        let saved = try Self.checkpoint(run + "/last.safetensors")
        #expect(saved.step >= 2 && saved.step % 2 == 0)
        // Continue on one rank with the global batch (the step count carries over).
        let resumed = try CommandRunner.unet(network + ["--steps", "\(saved.step + 2)", "-b", "4", "--output-dir", run,
                                                        "--resume", run + "/last.safetensors"])
        #expect(resumed.status == 0 && resumed.error.contains("resumed"), "\(resumed.error)")
        #expect(try Self.checkpoint(run + "/last.safetensors").step == saved.step + 2)
    }

    @Test("SIGINT to mpirun stops every rank at the same step, and rank 0 saves last.safetensors at that step before Open MPI ends the job")
    func interrupted() throws {
        try Self.requireMPI()
        let (folder, common) = try Self.data("unet-ddp-sigint")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.path + "/run"
        let unetPath = CommandRunner.productsDirectory.appendingPathComponent("unet").path
        // No validation before the signal: a checkpoint can only come from the interruption. mpirun sends SIGTERM this
        // long after SIGINT, and SIGKILL as long again: time for rank 0's save on a busy machine.
        let process = CommandRunner.mpirunProcess(2, [unetPath] + common + [
            "--base", "4", "--depth", "2", "-b", "2", "--validate-every", "1000000", "--steps", "1000000", "--output-dir", run],
            environment: ["OMPI_MCA_odls_base_sigkill_timeout": "5"])
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        // The test runner's threads block SIGINT and SIGTERM and a spawned process inherits the mask: unblock them
        // while mpirun starts, so that it receives the signal as it does from a shell.
        var all = sigset_t(), previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_UNBLOCK, &all, &previous)
        try process.run()
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        let log = run + "/metrics.jsonl"
        let deadline = Date().addingTimeInterval(120)
        while (try? Self.records(log, kind: "step").count) ?? 0 < 5, Date() < deadline { usleep(100_000) }
        kill(process.processIdentifier, SIGINT)
        let stopDeadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < stopDeadline { usleep(100_000) }
        #expect(!process.isRunning, "mpirun still runs 30 s after SIGINT")
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        let saved = try Self.checkpoint(run + "/last.safetensors")
        let steps = try Self.records(log, kind: "step")
        #expect(saved.step >= 5 && steps.last?["step"] as? Int == saved.step, "saved at \(saved.step), logged \(steps.count) steps")
    }

    @Test("predict and evaluate share the images between the ranks: the same masks and metrics as one process; other commands and bad arguments on rank 0")
    func shardedInference() throws {
        try Self.requireMPI()
        let folder = try SyntheticData.temporaryFolder("unet-ddp-predict")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 5, size: 32)
        let model = try CommandRunner.trainSmallModel(images: images, masks: masks, output: folder.path + "/run")
        let (one, two) = (folder.path + "/one", folder.path + "/two")
        let single = try CommandRunner.unet(["predict", "-m", model, "-i", images, "-o", one])
        #expect(single.status == 0, "\(single.error)")
        let sharded = try CommandRunner.mpirun(2, ["predict", "-m", model, "-i", images, "-o", two])
        #expect(sharded.status == 0, "\(sharded.error)")
        #expect(sharded.output.contains("predicted 5 images") && sharded.output.contains("on 2 ranks"), "\(sharded.output)")
        let written = try FileManager.default.contentsOfDirectory(atPath: one).sorted()
        let writtenTwo = try FileManager.default.contentsOfDirectory(atPath: two).sorted()
        #expect(written.count == 5 && written == writtenTwo)
        for name in written {
            #expect(FileManager.default.contentsEqual(atPath: one + "/" + name, andPath: two + "/" + name), "\(name)")
        }
        let evaluate = ["evaluate", "-m", model, "--images", images, "--masks", masks, "--json"]
        let (metricsOne, metricsTwo) = (try CommandRunner.unet(evaluate), try CommandRunner.mpirun(2, evaluate))
        #expect(metricsOne.status == 0 && metricsTwo.status == 0, "\(metricsTwo.error)")
        #expect(metricsTwo.output == metricsOne.output && metricsOne.output.contains("\"images\":5"), "\(metricsTwo.output)")
        // A command that does not share its work runs on rank 0 alone: one answer.
        let info = try CommandRunner.mpirun(2, ["info", model, "--json"])
        #expect(info.status == 0 && info.output.split(separator: "\n").count == 1, "\(info.output)")
        // Bad arguments are the same on every rank: rank 0 alone says so.
        let bad = try CommandRunner.mpirun(2, ["evaluate", "-m", model, "--images", images, "--masks", masks, "--bogus"])
        #expect(bad.status != 0 && bad.error.contains("'--bogus'"), "\(bad.error)")
        #expect(bad.error.components(separatedBy: "Error: ").count == 2 && !bad.error.contains("rank 1"), "\(bad.error)")
    }
}

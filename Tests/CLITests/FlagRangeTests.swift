import Foundation
import TestSupport
import Testing

/// Every numeric flag has a range: a value outside it (NaN and infinity included) fails at once, with one line
/// naming the flag and a non-zero exit, before anything is read or written.
@Suite("Flag ranges")
struct FlagRangeTests {
    /// Train flags and a fragment of the error each must give.
    static let trainCases: [([String], String)] = [
        (["--std", "0"], "--std"), (["--std", "nan"], "--std"), (["--mean", "inf"], "--mean"),
        (["--mean", "0.5,0.5"], "--mean"), (["--noise", "inf"], "--noise"), (["--brightness", "inf"], "--brightness"),
        (["--gamma", "inf"], "--gamma"), (["--contrast=-1"], "--contrast"), (["--blur", "nan"], "--blur"),
        (["-l", "inf"], "--learning-rate"), (["-l", "0"], "--learning-rate"), (["--momentum", "nan"], "--momentum"),
        (["--momentum", "1"], "--momentum"), (["--min-lr=-1"], "--min-lr"), (["--clip", "inf"], "--clip"),
        (["--clip=-1"], "--clip"), (["--weight-decay", "nan"], "--weight-decay"),
        (["--augment-rotation", "nan"], "--augment-rotation"), (["--augment-scale", "1"], "--augment-scale"),
        (["--focal-gamma", "inf"], "--focal-gamma"), (["--class-weights", "1,-1"], "--class-weights"),
        (["--class-weights", "1,nan"], "--class-weights"), (["--class-weights", "1,1,1"], "--class-weights"),
        (["--validate-every", "0"], "--validate-every"), (["--threads", "3000000000"], "--threads"),
        (["--classes", "65537"], "--classes"), (["--crop", "100000"], "--crop"), (["--base", "1000000"], "--base"),
        (["--batch-size", "0"], "--batch-size"), (["--epochs=-1"], "--epochs"), (["--validation", "nan"], "--validation"),
        (["--scale", "nan"], "--scale"), (["--scale", "inf"], "--scale"), (["--ignore-index", "70000"], "--ignore-index"),
        (["--max-pixels", "0"], "--max-pixels"), (["--mask-values", "0,70000"], "--mask-values"),
    ]

    @Test("train: each bad flag value is one line naming the flag, and nothing is created", arguments: trainCases)
    func train(flags: [String], fragment: String) throws {
        let folder = try SyntheticData.temporaryFolder("unet-flags")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 2, size: 16)
        let output = folder.path + "/run"
        let result = try CommandRunner.unet(["train", "--images", images, "--masks", masks, "--in-channels", "1",
                                             "--steps", "1", "--output-dir", output] + flags)
        #expect(result.status != 0, "\(flags) accepted")
        // ArgumentParser's usage lines follow the one-line error.
        #expect(result.error.contains(fragment) && result.error.split(separator: "\n").count <= 3, "\(flags): \(result.error)")
        #expect(!result.error.contains("Fatal error") && !result.error.contains("Backtrace"), "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: output), "\(flags): the output folder was created")
    }

    static let predictCases: [([String], String)] = [
        (["--size", "100000x100000"], "--size"), (["--size", "0"], "--size"), (["--size", "x5"], "--size"),
        (["--tile", "100000"], "--tile"), (["--overlap", "nan"], "--overlap"), (["--overlap", "1"], "--overlap"),
        (["--mask-threshold", "nan"], "--mask-threshold"), (["--batch-size", "0"], "--batch-size"),
        (["--threads", "0"], "--threads"), (["--scale", "0"], "--scale"), (["--std", "0"], "--std"),
        (["--base", "0"], "--base"), (["--depth", "99"], "--depth"),
    ]

    @Test("predict: each bad flag value is one line naming the flag", arguments: predictCases)
    func predict(flags: [String], fragment: String) throws {
        let result = try CommandRunner.unet(["predict", "-m", "model.safetensors", "-i", "x.png"] + flags)
        #expect(result.status != 0, "\(flags) accepted")
        #expect(result.error.contains(fragment) && result.error.split(separator: "\n").count <= 3, "\(flags): \(result.error)")
    }

    static let otherCases: [([String], String)] = [
        (["demo", "--size", "100000"], "--size"), (["demo", "-l", "nan"], "--learning-rate"), (["demo", "--steps", "0"], "--steps"),
        (["bench", "--size", "0"], "--size"), (["bench", "--threads", "3000000000"], "--threads"),
        (["bench", "--min-time", "inf"], "--min-time"), (["bench", "--batch", "1024", "--size", "8192"], "GB of feature maps"),
        (["evaluate", "--predictions", "p", "--masks", "m", "--classes", "70000"], "--classes"),
        (["dataset", "check", "x", "--in-channels", "0"], "--in-channels"),
    ]

    @Test("demo, bench, evaluate and dataset check refuse out-of-range values too", arguments: otherCases)
    func others(arguments: [String], fragment: String) throws {
        let result = try CommandRunner.unet(arguments)
        #expect(result.status != 0 && result.error.contains(fragment), "\(arguments): \(result.error)")
        #expect(!result.error.contains("Fatal error"), "\(result.error)")
    }
}

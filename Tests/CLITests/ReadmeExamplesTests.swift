import Foundation
import ImageIO
import TestSupport
import Testing

/// The README's example commands, run as written on small generated data laid out as each example expects.
/// Only training is shortened: a shell function appends `--steps 2 --base 8` to every `unet train` (and to every
/// `mpirun ... unet train`, which also gets `--oversubscribe`); `tensorboard` (a server) is only echoed.
@Suite("README examples")
struct ReadmeExamplesTests {
    /// The shell block after `<!-- example: name -->`.
    static func block(_ name: String) throws -> String {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        guard let marker = text.range(of: "<!-- example: \(name) -->\n```sh\n"),
            let end = text[marker.upperBound...].range(of: "```")
        else { throw FixtureError("README.md has no example '\(name)'") }
        return String(text[marker.upperBound..<end.lowerBound])
    }

    /// Writes `pairs` of disc images and 0/255 masks (or colour masks from `maskValues`) at the given paths.
    static func write(_ pairs: [(image: String, mask: String)], in root: URL, size: Int, colours: Bool = false) throws {
        let scratch = try SyntheticData.temporaryFolder("unet-readme-scratch")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (images, masks) = try SyntheticData.writeDiscs(to: scratch, count: pairs.count, size: size)
        for (i, pair) in pairs.enumerated() {
            for (source, target) in [("\(images)/\(i).png", pair.image), ("\(masks)/\(i).png", pair.mask)] {
                let url = root.appendingPathComponent(target)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try FileManager.default.moveItem(atPath: source, toPath: url.path)
            }
            if colours { try paintColourMask(root.appendingPathComponent(pair.mask).path, index: i, size: size) }
        }
    }

    /// Replaces a mask with 35 colour classes in vertical bands (shifted per image) and an ignored (white) corner.
    static func paintColourMask(_ path: String, index: Int, size: Int) throws {
        var samples = [UInt16](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                let c = (x * 35 / size + index) % 35
                let colour: [UInt16] = x < 8 && y < 8 ? [255, 255, 255] : [UInt16(c * 7), UInt16(200 - c * 5), UInt16(c % 5 * 40)]
                for k in 0..<3 { samples[(y * size + x) * 3 + k] = colour[k] }
            }
        }
        try ImageWriter.writePNG(try Image(width: size, height: size, channels: 3, samples: samples), to: path)
    }

    /// A field-of-view mask: 255 inside a centred disc covering most of the image, 0 outside.
    static func writeFieldOfView(_ url: URL, size: Int) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let c = Double(size) / 2
        let samples = (0..<(size * size)).map { i -> UInt16 in
            let (dx, dy) = (Double(i % size) + 0.5 - c, Double(i / size) + 0.5 - c)
            return dx * dx + dy * dy <= 0.9 * c * c ? 255 : 0
        }
        try ImageWriter.writePNG(try Image(width: size, height: size, channels: 1, samples: samples), to: url.path)
    }

    static func prepare(_ name: String, in root: URL) throws {
        switch name {
        case "check", "carvana", "watch", "auto":
            try write((0..<6).map { ("data/imgs/car\($0).png", "data/masks/car\($0)_mask.png") }, in: root, size: 64)
            try write((0..<2).map { ("data/test/t\($0).png", "scratch/t\($0).png") }, in: root, size: 64)
        case "isbi":
            try write((0..<30).map { ("train/image/\($0).png", "train/label/\($0).png") }, in: root, size: 256)
        case "drive":
            try write((21..<25).map { ("DRIVE/training/images/\($0).png", "DRIVE/training/1st_manual/\($0)_manual1.png") },
                      in: root, size: 256)
            try write((1..<3).map { ("DRIVE/test/images/\($0).png", "DRIVE/test/1st_manual/\($0)_manual1.png") }, in: root, size: 256)
            for path in (21..<25).map({ "DRIVE/training/mask/\($0)_mask.png" }) + (1..<3).map({ "DRIVE/test/mask/\($0)_mask.png" }) {
                try writeFieldOfView(root.appendingPathComponent(path), size: 256)
            }
        case "multiclass":
            try write((0..<10).map { ("sidewalk/images/\($0).png", "sidewalk/masks/\($0).png") }, in: root, size: 256, colours: true)
            try write([("street.png", "scratch/street.png")], in: root, size: 300)
        case "deploy", "quantize":
            try write((0..<4).map { ("data/imgs/car\($0).png", "data/masks/car\($0)_mask.png") }, in: root, size: 32)
            let data = root.appendingPathComponent("data").path
            let trained = try CommandRunner.unet(["train", "--images", data + "/imgs", "--masks", data + "/masks", "--mask-suffix", "_mask",
                                                  "--steps", "2", "--base", "8", "--scale", "1", "--output-dir",
                                                  root.appendingPathComponent("runs/carvana").path])
            guard trained.status == 0 else { throw FixtureError("training the model to export failed: \(trained.error)") }
        case "mpi":
            try write((0..<6).map { ("data/imgs/car\($0).png", "data/masks/car\($0).png") }, in: root, size: 64)
            try write((0..<3).map { ("data/test/t\($0).png", "data/test_masks/t\($0).png") }, in: root, size: 64)
        default:
            throw FixtureError("no data for example '\(name)'")
        }
    }

    @Test("each example runs as written", arguments: ["check", "carvana", "auto", "isbi", "drive", "multiclass", "watch", "deploy", "quantize", "mpi"])
    func runs(name: String) throws {
        let root = try SyntheticData.temporaryFolder("unet-readme-\(name)")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.prepare(name, in: root)
        let script = """
            unet() { if [ "$1" = train ]; then command unet "$@" --steps 2 --base 8; else command unet "$@"; fi; }
            mpirun() { case " $* " in *" train "*) command mpirun --oversubscribe "$@" --steps 2 --base 8;; *) command mpirun --oversubscribe "$@";; esac; }
            tensorboard() { echo "tensorboard $*"; }
            \(try Self.block(name))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-e", "-c", script]
        process.currentDirectoryURL = root
        var environment = CommandRunner.mpiEnvironment
        environment["PATH"] = CommandRunner.productsDirectory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        process.environment = environment
        let (out, err) = (Pipe(), Pipe())
        (process.standardOutput, process.standardError) = (out, err)
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let error = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "example \(name) failed:\n\(output)\n\(error)")
    }
}

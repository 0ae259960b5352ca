import Checkpoints
import Foundation
import TestSupport
import Testing

/// Models that must not run, and flags that must not rebuild a native model: refused in one line.
@Suite("Model files: broken weights, metadata, contradicting flags")
struct ModelSafetyTests {
    struct Setup {
        let folder: URL
        let images: String
        let masks: String
        let model: String
    }

    static func setUp(_ name: String, base: Int = 4) throws -> Setup {
        let folder = try SyntheticData.temporaryFolder(name)
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4, size: 32)
        let model = try CommandRunner.trainSmallModel(images: images, masks: masks, output: folder.path + "/run", base: base)
        return Setup(folder: folder, images: images, masks: masks, model: model)
    }

    /// A copy of `model` with `edit` applied to its file.
    func edited(_ model: String, _ name: String, _ edit: (inout SafeTensorsFile) -> Void) throws -> String {
        var file = try SafeTensorsFile.read(path: model)
        edit(&file)
        let path = (model as NSString).deletingLastPathComponent + "/" + name
        try file.write(to: path)
        return path
    }

    func expectRefused(_ arguments: [String], _ fragment: String) throws {
        let result = try CommandRunner.unet(arguments)
        #expect(result.status != 0 && result.error.contains(fragment), "\(arguments): \(result.error)")
        #expect(result.error.split(separator: "\n").count == 1 && result.error.count < 400, "\(result.error)")
    }

    @Test("NaN in a weight or a running statistic: predict, evaluate and info refuse the model, naming the key")
    func nonFiniteWeights() throws {
        let s = try Self.setUp("unet-model-nan")
        defer { try? FileManager.default.removeItem(at: s.folder) }
        for key in ["inc.double_conv.0.weight", "inc.double_conv.1.running_var"] {
            let broken = try edited(s.model, "broken.safetensors") { file in
                let i = file.tensors.firstIndex { $0.key == key }!
                var bytes = file.tensors[i].tensor.bytes
                withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { bytes.replaceSubrange(0..<4, with: $0) }
                file.tensors[i].tensor = try! StoredTensor(elementType: .float32, shape: file.tensors[i].tensor.shape, bytes: bytes)
            }
            try expectRefused(["predict", "-m", broken, "-i", s.images + "/0.png", "-o", s.folder.path + "/p.png"], "'\(key)' holds NaN")
            try expectRefused(["evaluate", "-m", broken, "--images", s.images, "--masks", s.masks], "'\(key)' holds NaN")
            #expect(!FileManager.default.fileExists(atPath: s.folder.path + "/p.png"))
        }
    }

    @Test("native metadata out of range (scale 1e300 or 0, std 0) is refused in one line")
    func badMetadata() throws {
        let s = try Self.setUp("unet-model-metadata")
        defer { try? FileManager.default.removeItem(at: s.folder) }
        for (text, fragment) in [(#""scale":1e300"#, "scale"), (#""scale":0"#, "scale"),
                                 (#""normalization":{"mean":[0.5],"std":[0]}"#, "std must be positive")] {
            let path = try edited(s.model, "meta.safetensors") { file in
                var json = file.metadata["unet.metadata"]!
                if text.hasPrefix("\"scale\"") {
                    json = json.replacingOccurrences(of: #""scale":1"#, with: text)
                } else {
                    json = json.replacingOccurrences(of: #""normalization":{}"#, with: text)
                }
                file.metadata["unet.metadata"] = json
            }
            try expectRefused(["predict", "-m", path, "-i", s.images + "/0.png", "-o", s.folder.path + "/p.png"], fragment)
        }
    }

    @Test("a native model's own architecture wins: a consistent --classes is fine, a contradicting --base is one short error")
    func contradictingFlags() throws {
        let s = try Self.setUp("unet-model-flags")
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let consistent = try CommandRunner.unet(["evaluate", "-m", s.model, "--images", s.images, "--masks", s.masks,
                                                 "--classes", "2", "--json"])
        #expect(consistent.status == 0, "\(consistent.error)")
        try expectRefused(["evaluate", "-m", s.model, "--images", s.images, "--masks", s.masks, "--base", "64"],
                          "base width 64 (the file has 4)")
    }

    @Test("--strides (numbers of 1...4), --norm and --decoder-interpolation, for the peers' networks: a classic U-Net's file refuses them in one line")
    func stridesFlag() throws {
        let s = try Self.setUp("unet-model-strides")
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let pth = Fixture.path("models/milesial_b2_c2.pth")
        // Flag validation: ArgumentParser's usage lines follow the error's.
        for (value, fragment) in [("2,x", "Error: --strides: '2,x' is not a comma-separated list of numbers"),
                                  ("2,5", "Error: --strides 2,5: each stride is 1...4")] {
            let result = try CommandRunner.unet(["info", pth, "--strides", value])
            #expect(result.status != 0 && result.error.split(separator: "\n").first.map(String.init) == fragment, "\(result.error)")
        }
        try expectRefused(["info", pth, "--strides", "2,2"], "--strides is for a MONAI UNet or an nnU-Net network; this is a classic U-Net")
        try expectRefused(["info", s.model, "--strides", "2,2"], "strides (a classic U-Net has none)")
        let value = try CommandRunner.unet(["info", pth, "--norm", "group"])
        #expect(value.status != 0 && value.error.hasPrefix("Error: The value 'group' is invalid for '--norm <instance|none>'"), "\(value.error)")
        try expectRefused(["info", pth, "--norm", "none"], "--norm is for a MONAI UNet or BasicUNet; this is a classic U-Net")
        try expectRefused(["info", s.model, "--norm", "none"], "norm (a classic U-Net's is --batch-norm)")
        try expectRefused(["info", pth, "--decoder-interpolation", "bilinear"],
                          "--decoder-interpolation is for an smp Unet; this is a classic U-Net")
        try expectRefused(["info", s.model, "--decoder-interpolation", "bilinear"], "decoder interpolation (a classic U-Net's is --bilinear)")
        let monai = Fixture.path("models/monai_unet_res0.pth")
        try expectRefused(["info", monai, "--norm", "batch"], "--norm batch: the file has no model.0.adn.N.* keys (no norm parameters)")
    }

    @Test("a .pth scored on all-background masks is evaluated, not refused for its single mask value")
    func allBackgroundMasks() throws {
        let folder = try SyntheticData.temporaryFolder("unet-model-background")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 2, size: 32, maskValues: (0, 0))
        let model = Fixture.path("models/milesial_b2_c2.pth")
        let result = try CommandRunner.unet(["evaluate", "-m", model, "--images", images, "--masks", masks, "--json"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("\"pixel_accuracy\""), "\(result.output)")
        _ = (images, masks)
    }

    @Test("convert refuses to write over its input")
    func convertInPlace() throws {
        let folder = try SyntheticData.temporaryFolder("unet-model-convert")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.path + "/m.pth"
        try FileManager.default.copyItem(atPath: Fixture.path("models/milesial_b2_c2.pth"), toPath: model)
        let before = try Data(contentsOf: URL(fileURLWithPath: model))
        try expectRefused(["convert", model, "-o", model], "is the input file")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == before)
    }
}

import Checkpoints
import Foundation
import ImageIO
import Tensors
import TestSupport
import Testing

@Suite("unet predict")
struct PredictCommandTests {
    @Test("--save-probabilities of a milesial .pth equals PyTorch's probabilities", arguments: ["milesial_c2", "milesial_c1_bilinear"])
    func probabilitiesMatchPyTorch(model: String) throws {
        let folder = try SyntheticData.temporaryFolder("unet-predict-pth")
        defer { try? FileManager.default.removeItem(at: folder) }
        let mask = folder.appendingPathComponent("rgb.png").path
        let (status, output, error) = try CommandRunner.unet([
            "predict", "-m", Fixture.path("predict/\(model).pth"), "-i", Fixture.path("predict/rgb_45x61.png"), "-o", mask,
            "--save-probabilities"])
        #expect(status == 0, "\(error)")
        #expect(output.contains("predicted 1 image"))
        let probabilities = try NumpyArray.read(path: folder.appendingPathComponent("rgb.npy").path)
        let expected = try Fixture("predict/expected").tensor("probabilities_" + model)
        expectClose(probabilities, expected, rtol: 0, atol: 1e-4, model)
        // The mask holds the checkpoint's mask_values: [0, 255] for two classes, [0, 1] (written 0/255) for one.
        let written = try ImageReader.read(path: mask)
        #expect(written.width == 61 && written.height == 45 && written.channels == 1)
        let p = expected.scalars
        let plane = 45 * 61
        for i in stride(from: 0, to: plane, by: 7) {
            let foreground = model == "milesial_c2" ? p[plane + i] > p[i] : p[i] > 0.5
            #expect(written.samples[i] == (foreground ? 255 : 0), "pixel \(i)")
        }
    }

    @Test("folders in and out, overlays, tiles; a corrupt image is listed and the others are still written")
    func foldersAndFailures() throws {
        let folder = try SyntheticData.temporaryFolder("unet-predict-folder")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, _) = try SyntheticData.writeDiscs(to: folder, count: 3, size: 40)
        try Data("broken".utf8).write(to: URL(fileURLWithPath: images + "/9.png"))
        let out = folder.appendingPathComponent("out").path
        let (status, _, error) = try CommandRunner.unet([
            "predict", "-m", Fixture.path("predict/milesial_c2.pth"), "-i", images, "-o", out, "--viz", "--side-by-side",
            "--contours", "--tile", "16", "--overlap", "0.5", "--tta", "--mask-format", "indices"])
        #expect(status != 0)
        #expect(error.contains("9.png") && error.contains("1 input(s) failed"), "\(error)")
        for stem in ["0", "1", "2"] {
            let mask = try ImageReader.read(path: out + "/\(stem).png")
            #expect(mask.width == 40 && mask.samples.allSatisfy { $0 <= 1 })
            let overlay = try ImageReader.read(path: out + "/\(stem)_overlay.png")
            #expect(overlay.width == 40 && overlay.channels == 3)
            #expect(try ImageReader.read(path: out + "/\(stem)_side.png").width == 80)
        }
    }

    @Test("the course-lab flow: resize to 572, sigmoid, threshold, overlay, at the image's own size")
    func labFlow() throws {
        let folder = try SyntheticData.temporaryFolder("unet-predict-lab")
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("cell.png").path
        try FileManager.default.copyItem(atPath: Fixture.path("predict/rgb_45x61.png"), toPath: image)
        let (status, _, error) = try CommandRunner.unet([
            "predict", "-m", Fixture.path("predict/milesial_c1_bilinear.pth"), "-i", image, "--size", "572", "--viz", "-t", "0.4"])
        #expect(status == 0, "\(error)")
        let mask = try ImageReader.read(path: folder.appendingPathComponent("cell_OUT.png").path)
        #expect(mask.width == 61 && mask.height == 45)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("cell_OUT_overlay.png").path))
    }

    @Test("bad input: a missing model, a missing image, conflicting flags; one line naming it, non-zero exit")
    func badInput() throws {
        let missingModel = try CommandRunner.unet(["predict", "-m", "/nonexistent/model.pth", "-i", Fixture.path("predict/rgb_45x61.png")])
        #expect(missingModel.status != 0 && missingModel.error.contains("/nonexistent/model.pth"))
        let missingImage = try CommandRunner.unet(["predict", "-m", Fixture.path("predict/milesial_c2.pth"), "-i", "/nonexistent/x.png",
                                                   "-n", "--viz"])
        #expect(missingImage.status != 0 && missingImage.error.contains("/nonexistent/x.png"))
        let flags = try CommandRunner.unet(["predict", "-i", "x.png", "--scale", "0.5", "--size", "572"])
        #expect(flags.status != 0 && flags.error.contains("--size"))
        let tile = try CommandRunner.unet(["predict", "-m", Fixture.path("predict/milesial_c2.pth"), "-i",
                                           Fixture.path("predict/rgb_45x61.png"), "-n", "--viz", "--tile", "100"])
        #expect(tile.status != 0 && tile.error.contains("--tile 100"), "\(tile.error)")
    }

    /// `--amp` where oneDNN would emulate bf16 (its ISA capped at AVX-512 without BF16; on an AVX2 machine, where it
    /// has no bf16 at all): one warning line, and the fp32 network's masks.
    @Test("--amp without native bf16 runs fp32 with a one-line warning")
    func ampWithoutNativeBF16() throws {
        let folder = try SyntheticData.temporaryFolder("unet-predict-amp")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, _) = try SyntheticData.writeDiscs(to: folder, count: 1, size: 32)
        let model = Fixture.path("predict/milesial_c2.pth")
        let run = { (flags: String, out: String) in
            try CommandRunner.shell("DNNL_MAX_CPU_ISA=AVX512_CORE \"$UNET\" predict -m '\(model)' -i '\(images)' -o '\(out)' \(flags)")
        }
        let amp = try run("--amp", folder.appendingPathComponent("amp").path)
        #expect(amp.status == 0, "\(amp.error)")
        let warnings = amp.error.split(separator: "\n").filter { $0.contains("warning") }
        #expect(warnings.count == 1 && warnings[0].contains("--amp") && warnings[0].contains("running in fp32"), "\(amp.error)")
        let plain = try run("", folder.appendingPathComponent("fp32").path)
        #expect(plain.status == 0 && !plain.error.contains("warning"), "\(plain.error)")
        let (a, b) = (try ImageReader.read(path: folder.path + "/amp/0.png"), try ImageReader.read(path: folder.path + "/fp32/0.png"))
        #expect(a.samples == b.samples)
    }

    @Test("an nnU-Net trained-model folder predicts with no flags: its patch as the window, half overlap, mirroring, z-score, label values")
    func nnUNetFolder() throws {
        let folder = try SyntheticData.temporaryFolder("unet-predict-nnunet")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, _) = try SyntheticData.writeDiscs(to: folder, count: 2, size: 37)
        let output = folder.appendingPathComponent("out").path
        let result = try CommandRunner.unet(["predict", "-m", Fixture.path("models/nnunet_folder"), "-i", images, "-o", output])
        #expect(result.status == 0, "\(result.error)")
        let info = try CommandRunner.unet(["info", Fixture.path("models/nnunet_folder")])
        #expect(info.output.contains("note: nnU-Net folder") && info.output.contains("nnU-Net PlainConvUNet"), "\(info.output)")
        let mask = try ImageReader.read(path: output + "/0.png")
        #expect(mask.width == 37 && mask.height == 37 && mask.channels == 1)
        #expect(mask.samples.allSatisfy { $0 <= 2 }, "labels are 0, 1, 2")

        // The plans' z-score normalization is applied: an image and the same with its contrast doubled and shifted
        // (exactly: 2v + 1) predict the same.
        let original = try ImageReader.read(path: images + "/0.png")
        let image = try Image(width: original.width, height: original.height, channels: original.channels,
                              samples: original.samples.map { $0 / 2 })
        let dimmed = try Image(width: image.width, height: image.height, channels: image.channels, samples: image.samples.map { 2 * $0 + 1 })
        let pair = folder.appendingPathComponent("pair")
        try FileManager.default.createDirectory(at: pair, withIntermediateDirectories: true)
        try ImageWriter.writePNG(image, to: pair.appendingPathComponent("a.png").path)
        try ImageWriter.writePNG(dimmed, to: pair.appendingPathComponent("b.png").path)
        let probabilities = try CommandRunner.unet(["predict", "-m", Fixture.path("models/nnunet_folder"), "-i", pair.path, "-o",
                                                    pair.appendingPathComponent("out").path, "--save-probabilities", "--no-tta"])
        #expect(probabilities.status == 0, "\(probabilities.error)")
        let (a, b) = (try NumpyArray.read(path: pair.path + "/out/a.npy"), try NumpyArray.read(path: pair.path + "/out/b.npy"))
        let difference = zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(difference < 1e-4, "\(difference)")
    }

    @Test("an nnU-Net folder planned with CTNormalization or NoNormalization predicts what its network gives on nnU-Net's input (fixtures)",
          arguments: ["ct", "none"])
    func nnUNetFolderIntensities(scheme: String) throws {
        let folder = try SyntheticData.temporaryFolder("unet-predict-nnunet-\(scheme)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try Self.nnUNetFolder(in: folder, plans: "normalization/plans_\(scheme).json")
        let (probabilities, _) = try Self.predict("normalization/rgb8.png", model: model, in: folder)
        expectClose(probabilities, try Fixture("normalization/expected").tensor("\(scheme)_rgb8.probabilities"), rtol: 0, atol: 1e-4, scheme)
        let info = try CommandRunner.unet(["info", model])
        let described = scheme == "ct" ? "the file's own intensities (0-255, 0-65535), then clipped to [30.0, 10.0, 60.0]...[200.0, 150.0, 240.0]"
            : "normalization: the file's own intensities (0-255, 0-65535)\n"
        #expect(info.output.contains(described), "\(info.output)")
    }

    @Test("an nnU-Net folder planned with strides that differ between the axes predicts its patch as the package's network does (fixtures)")
    func nnUNetFolderAnisotropic() throws {
        let folder = try SyntheticData.temporaryFolder("unet-predict-nnunet-aniso")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (probabilities, _) = try Self.predict("anisotropic/patch.png", model: Fixture.path("models/nnunet_folder_aniso"), in: folder)
        expectClose(probabilities, try Fixture("anisotropic/expected").tensor("patch.probabilities"), rtol: 0, atol: 1e-4, "patch")
        let info = try CommandRunner.unet(["info", Fixture.path("models/nnunet_folder_aniso")])
        #expect(info.output.contains("strides: 1, 2, 1x2") && info.output.contains("smallest input: 4x8"), "\(info.output)")
    }

    /// nnU-Net pads a side shorter than its patch with zeros to the patch (centred) and rounds its windows' positions;
    /// scripts/make_fixtures.py restates its sliding window in PyTorch.
    @Test("an nnU-Net folder predicts an image lower and wider than its patch as nnU-Net's sliding window does, with and without mirroring (fixtures)",
          arguments: [false, true])
    func nnUNetFolderSlidingWindow(mirrored: Bool) throws {
        let folder = try SyntheticData.temporaryFolder("unet-predict-nnunet-window")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (probabilities, _) = try Self.predict("sliding_window/strip.png", model: Fixture.path("models/nnunet_folder"), in: folder,
                                                  flags: mirrored ? [] : ["--no-tta"])
        let expected = try Fixture("sliding_window/expected").tensor(mirrored ? "strip.mirrored" : "strip.probabilities")
        expectClose(probabilities, expected, rtol: 0, atol: 1e-4, "strip")
    }

    @Test("an nnU-Net folder planned with use_mask_for_norm z-scores each image over its nonzero mask (holes filled) and leaves 0 outside, as nnU-Net does (fixtures)")
    func nnUNetFolderMaskedNormalization() throws {
        let folder = try SyntheticData.temporaryFolder("unet-predict-nnunet-mask")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try Self.nnUNetFolder(in: folder, plans: "mask_norm/plans_mask.json")
        let (probabilities, _) = try Self.predict("mask_norm/brain.png", model: model, in: folder)
        expectClose(probabilities, try Fixture("mask_norm/expected").tensor("brain.probabilities"), rtol: 0, atol: 1e-4, "brain")
        let info = try CommandRunner.unet(["info", model])
        #expect(info.output.contains("z-score over its nonzero mask (holes filled), 0 outside"), "\(info.output)")
    }

    @Test("an nnU-Net folder crops each image to its nonzero pixels as nnU-Net does: z-score over the box, class 0 outside (fixtures)")
    func nnUNetFolderNonzeroCrop() throws {
        let folder = try SyntheticData.temporaryFolder("unet-predict-nnunet-crop")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (probabilities, out) = try Self.predict("nonzero_crop/margin.png", model: Fixture.path("models/nnunet_folder"), in: folder)
        expectClose(probabilities, try Fixture("nonzero_crop/expected").tensor("margin.probabilities"), rtol: 0, atol: 1e-4, "margin")
        let mask = try ImageReader.read(path: out + "/margin.png")
        #expect(mask.samples[0] == 0 && mask.samples[mask.samples.count - 1] == 0, "the margins are class 0")
        let info = try CommandRunner.unet(["info", Fixture.path("models/nnunet_folder")])
        #expect(info.output.contains("crop: each image to its nonzero pixels' box first"), "\(info.output)")
    }

    /// models/nnunet_folder copied into `folder` with the fixture `plans` as its plans.json; the copy's path.
    static func nnUNetFolder(in folder: URL, plans: String) throws -> String {
        let model = folder.appendingPathComponent("model")
        try FileManager.default.copyItem(atPath: Fixture.path("models/nnunet_folder"), toPath: model.path)
        try FileManager.default.removeItem(at: model.appendingPathComponent("plans.json"))
        try FileManager.default.copyItem(atPath: Fixture.path(plans), toPath: model.appendingPathComponent("plans.json").path)
        return model.path
    }

    /// `unet predict -m model --save-probabilities` (and `flags`, no mirroring by default) of the fixture `image`,
    /// copied alone into `folder`/images: its probabilities, and the output folder.
    static func predict(_ image: String, model: String, in folder: URL, flags: [String] = ["--no-tta"]) throws
        -> (probabilities: Tensor, out: String)
    {
        let images = folder.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let name = (image as NSString).lastPathComponent
        try FileManager.default.copyItem(atPath: Fixture.path(image), toPath: images.appendingPathComponent(name).path)
        let out = folder.appendingPathComponent("out").path
        let result = try CommandRunner.unet(["predict", "-m", model, "-i", images.path, "-o", out, "--save-probabilities"] + flags)
        #expect(result.status == 0, "\(result.error)")
        return (try NumpyArray.read(path: out + "/" + (name as NSString).deletingPathExtension + ".npy"), out)
    }
}

@Suite("The library example (Examples/SegmentImage)")
struct SegmentImageExampleTests {
    @Test("segments an image with a PyTorch checkpoint and writes a colour mask")
    func segments() throws {
        let folder = try SyntheticData.temporaryFolder("unet-example")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("mask.png").path
        let (status, stdout, error) = try CommandRunner.run("segment-image", [
            Fixture.path("predict/milesial_c2.pth"), Fixture.path("predict/rgb_45x61.png"), output])
        #expect(status == 0, "\(error)")
        let counts = stdout.split(separator: "\n").compactMap { line in line.split(separator: " ").dropLast().last.flatMap { Int($0) } }
        #expect(counts.count == 2 && counts.reduce(0, +) == 45 * 61, "\(stdout)")
        let mask = try ImageReader.read(path: output)
        #expect(mask.width == 61 && mask.height == 45 && mask.channels == 3)
    }
}


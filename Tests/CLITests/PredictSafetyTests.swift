import Foundation
import ImageIO
import TestSupport
import Testing

/// `unet predict` never writes over what it reads: an output that is an input (by any name), the model, or
/// another input's output is refused before anything is written.
@Suite("unet predict: no output replaces an input")
struct PredictSafetyTests {
    /// A folder with a trained model and a few images.
    struct Setup {
        let folder: URL
        let images: String
        let model: String
    }

    static func setUp(_ name: String) throws -> Setup {
        let folder = try SyntheticData.temporaryFolder(name)
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4, size: 32)
        let model = try CommandRunner.trainSmallModel(images: images, masks: masks, output: folder.path + "/run")
        return Setup(folder: folder, images: images, model: model)
    }

    func contents(_ folder: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            result[name] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
        }
        return result
    }

    /// Runs predict, expects a one-line refusal naming `fragment`, and that no file in `folders` changed.
    func refused(_ arguments: [String], _ fragment: String, unchanged folders: [String]) throws {
        let before = try folders.map(contents)
        let result = try CommandRunner.unet(["predict"] + arguments)
        #expect(result.status != 0, "accepted: \(arguments)")
        #expect(result.error.contains(fragment), "\(result.error)")
        #expect(result.error.split(separator: "\n").count <= 2, "\(result.error)")
        #expect(try folders.map(contents) == before, "a file changed: \(arguments)")
    }

    @Test("an output that is the input, the same file by a link, or the model is refused, and nothing changes")
    func outputIsInput() throws {
        let s = try Self.setUp("unet-predict-same")
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let image = s.images + "/0.png"
        try refused(["-m", s.model, "-i", image, "-o", image], "would replace the input", unchanged: [s.images])
        try FileManager.default.createSymbolicLink(atPath: s.folder.path + "/link.png", withDestinationPath: image)
        try refused(["-m", s.model, "-i", image, "-o", s.folder.path + "/link.png"], "would replace the input",
                    unchanged: [s.images])
        try FileManager.default.linkItem(atPath: image, toPath: s.folder.path + "/hard.png")
        try refused(["-m", s.model, "-i", image, "-o", s.folder.path + "/hard.png"], "would replace the input",
                    unchanged: [s.images])
        try refused(["-m", s.model, "-i", image, "-o", s.model], "would replace the model",
                    unchanged: [s.images, (s.model as NSString).deletingLastPathComponent])
        // --viz writes <mask>_overlay.png: an input of that name is protected too.
        try FileManager.default.copyItem(atPath: image, toPath: s.images + "/out_overlay.png")
        try refused(["-m", s.model, "-i", image, s.images + "/out_overlay.png", "-o", s.folder.path + "/x/out.png",
                     s.images + "/out.png", "--viz"], "would replace the input", unchanged: [s.images])
    }

    @Test("the input folder as the output folder is refused before any image is replaced")
    func sameFolder() throws {
        let s = try Self.setUp("unet-predict-folder")
        defer { try? FileManager.default.removeItem(at: s.folder) }
        try refused(["-m", s.model, "-i", s.images, "-o", s.images], "is the input folder", unchanged: [s.images])
        try refused(["-m", s.model, "-i", s.images, "-o", s.images + "/"], "is the input folder", unchanged: [s.images])
    }

    @Test("two inputs that would write one mask (a.png and a.jpg; d1/a.png and d2/a.png) are refused")
    func sharedOutputs() throws {
        let s = try Self.setUp("unet-predict-shared")
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let d1 = s.folder.path + "/d1", d2 = s.folder.path + "/d2", out = s.folder.path + "/out"
        for folder in [d1, d2] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(atPath: s.images + "/0.png", toPath: d1 + "/a.png")
        try FileManager.default.copyItem(atPath: s.images + "/1.png", toPath: d2 + "/a.png")
        try refused(["-m", s.model, "-i", d1, d2, "-o", out], "would both write", unchanged: [d1, d2])
        #expect(!FileManager.default.fileExists(atPath: out), "the output folder was created")
        // Same stem, two extensions, default naming beside the inputs (a_OUT.png twice).
        let image = try ImageReader.read(path: d1 + "/a.png")
        try FileManager.default.createDirectory(atPath: s.folder.path + "/d3", withIntermediateDirectories: true)
        try ImageWriter.writePNG(image, to: s.folder.path + "/d3/a.png")
        try FileManager.default.copyItem(atPath: s.folder.path + "/d3/a.png", toPath: s.folder.path + "/d3/a.tif")
        try refused(["-m", s.model, "-i", s.folder.path + "/d3/a.png", s.folder.path + "/d3/a.tif"], "would both write",
                    unchanged: [s.folder.path + "/d3"])
        // Distinct outputs still work.
        let ok = try CommandRunner.unet(["predict", "-m", s.model, "-i", d1 + "/a.png", d2 + "/a.png", "-o", out + "/1.png", out + "/2.png"])
        #expect(ok.status == 0, "\(ok.error)")
    }
}

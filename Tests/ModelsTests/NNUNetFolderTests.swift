import Foundation
import Models
import Tensors
import TestSupport
import Testing

/// nnU-Net v2 trained-model folders (scripts/make_fixtures.py writes one as nnU-Net does: plans.json, dataset.json and
/// fold_0/checkpoint_final.pth with its trainer's dict: aliased keys, optimizer state, numpy scalars, torch.device).
@Suite("nnU-Net trained-model folders")
struct NNUNetFolderTests {
    static let folder = Fixture.path("models/nnunet_folder")

    @Test("the folder (and its fold_0) loads with no flags: the plans' network, nnU-Net's way of predicting, the labels")
    func folder() throws {
        for path in [Self.folder, Self.folder + "/fold_0"] {
            let loaded = try ModelFile.load(path: path)
            #expect(loaded.model.architecture == .plainConvUNet(PlainConvUNetConfiguration(
                features: [8, 16, 16], strides: [1, 2, 2], inputChannels: 3, classes: 3)))
            let m = loaded.metadata
            #expect(m.tile == 32 && m.tileWidth == 24 && m.overlap == 0.5 && m.flips == true && m.normalization.perImage == true, "\(m)")
            #expect(m.classNames == ["background", "disc", "ring"] && m.maskValues == [[0], [1], [2]])
            #expect(loaded.report.contains { $0.hasPrefix("nnU-Net folder:") && $0.contains("ZScoreNormalization") }, "\(loaded.report)")
        }
    }

    /// nnU-Net halves only the longer side once the shorter reaches its smallest map: strides `[1, 2]`, and a patch whose
    /// height (22) is a multiple of the strides' product along the height (2) but not along the width (4).
    @Test("a folder planned with strides that differ between the axes loads with them, its patch the window as planned")
    func anisotropicFolder() throws {
        let loaded = try ModelFile.load(path: Fixture.path("models/nnunet_folder_aniso"))
        let expected = PlainConvUNetConfiguration(features: [8, 16, 16], strides: [1, 2, 1], widthStrides: [1, 2, 2], inputChannels: 3, classes: 3)
        #expect(loaded.model.architecture == .plainConvUNet(expected))
        #expect(expected.sizeMultiples == [2, 4] && expected.sizeMultiple == 4 && expected.stridesText() == "1,2,1x2")
        #expect("\(expected)".contains("strides 1-2-1x2"), "\(expected)")
        #expect(loaded.model.architecture.downsamplingPerAxis == [2, 4])
        // Instance norm needs two values at the deepest map: 4 rows (2 there) take any width from 4 up, and the other way.
        #expect(loaded.model.architecture.minimumInputSizePerAxis == [4, 8] && loaded.model.architecture.minimumInputSize == 8)
        #expect(loaded.metadata.tile == 22 && loaded.metadata.tileWidth == 40, "\(loaded.metadata)")
        #expect(throws: UNetError.self) { try loaded.model.checkInput([1, 3, 20, 42]) }
        try loaded.model.checkInput([1, 3, 22, 40])
    }

    @Test("plans with kernels that differ between the axes describe the network with them (the weights must then agree)")
    func anisotropicKernels() throws {
        let folder = Fixture.path("models/nnunet_folder_aniso")
        let text = try String(contentsOfFile: folder + "/plans.json", encoding: .utf8)
        let square = "\"kernel_sizes\": [\n                        [\n                            3,\n                            3\n                        ],"
        #expect(text.contains(square))
        let edited = text.replacingOccurrences(
            of: square, with: square.replacingOccurrences(of: "3,\n                            3", with: "1,\n                            3"))
        let dataset = Array(try String(contentsOfFile: folder + "/dataset.json", encoding: .utf8).utf8)
        let plans = try NNUNetPlans.decode(plans: Array(edited.utf8), dataset: dataset, plansPath: "plans.json", datasetPath: "dataset.json")
        guard case .plainConvUNet(let c) = plans.architecture else { Issue.record("\(plans.architecture)"); return }
        #expect(c.stageKernels == [[1, 3], [3, 3], [3, 3]] && c.kernelsText() == "1x3,3,3" && "\(c)".contains("kernels 1x3-3-3"), "\(c)")
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-kernels-\(getpid())")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(atPath: folder, toPath: copy.path)
        defer { try? FileManager.default.removeItem(at: copy) }
        try edited.write(to: copy.appendingPathComponent("plans.json"), atomically: true, encoding: .utf8)
        let error = #expect(throws: UNetError.self) { try ModelFile.load(path: copy.path) }
        #expect(error.map { "\($0)" }?.contains("kernels 1x3-3-3") == true, "\(String(describing: error))")
    }

    @Test("plans that do not describe the weights, or a network this project does not build, are refused in one line naming the file")
    func refused() throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-folder-\(getpid())")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(atPath: Self.folder, toPath: copy.path)
        defer { try? FileManager.default.removeItem(at: copy) }
        let plans = copy.appendingPathComponent("plans.json")
        let text = try String(contentsOf: plans, encoding: .utf8)
        for (change, expected) in [(("[\n                        8,", "[\n                        4,"), "but "),
                                   (("\"2d\"", "\"3d_fullres\""), "no \"2d\" configuration"),
                                   (("ZScoreNormalization", "RescaleTo01Normalization"), "RescaleTo01Normalization"),
                                   (("\"use_mask_for_norm\": [\n                false", "\"use_mask_for_norm\": [\n                true"),
                                    "use_mask_for_norm [true, false, false] differs between channels"),
                                   (("ZScoreNormalization", "CTNormalization"), "CTNormalization needs foreground_intensity_properties"),
                                   (("ZScoreNormalization", "CTNormalization"), "non-finite")] {
            var text = text
            if expected.hasPrefix("CTNormalization") {
                text = text.replacingOccurrences(of: "foreground_intensity_properties_per_channel", with: "intensities")
            } else if expected == "non-finite" {
                text = text.replacingOccurrences(of: "\"mean\": 120.0", with: "\"mean\": 1e300")
            }
            try text.replacingOccurrences(of: change.0, with: change.1).write(to: plans, atomically: true, encoding: .utf8)
            let error = #expect(throws: UNetError.self) { try ModelFile.load(path: copy.path) }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains(expected) && !message.contains("\n"), "\(message)")
        }
    }

    @Test("CTNormalization plans: the file's own intensities clipped to each channel's foreground percentiles, less its mean, over its std")
    func ctPlans() throws {
        let folder = Self.folder
        let plans = try NNUNetPlans.read(plans: Fixture.path("normalization/plans_ct.json"), dataset: folder + "/dataset.json")
        let n = plans.normalization
        #expect(n.rawIntensities == true && n.perImage == nil)
        #expect(n.lower == [30, 10, 60] && n.upper == [200, 150, 240] && n.mean == [120, 90.5, 140] && n.std == [40, 25.25, 60], "\(n)")
        #expect(plans.metadata.normalization == n)
        let none = try NNUNetPlans.read(plans: Fixture.path("normalization/plans_none.json"), dataset: folder + "/dataset.json")
        #expect(none.normalization == Normalization(rawIntensities: true))
    }
}

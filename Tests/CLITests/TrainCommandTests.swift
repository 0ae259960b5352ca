import Checkpoints
import Foundation
import ImageIO
import Models
import Tensors
import TestSupport
import Testing

@Suite("unet train")
struct TrainCommandTests {
    /// The numbers of each JSON line of a metrics log that has `key`.
    func records(_ log: String, having key: String) throws -> [[String: Any]] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap {
            let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            return object?[key] != nil ? object : nil
        }
    }

    @Test("--intensity-min/--intensity-max clip each channel before --mean/--std: the model records it and predict applies it; refused alone or crossed")
    func intensityClipping() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-clip")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4, size: 32)
        let output = folder.appendingPathComponent("run").path
        let flags = ["train", "--images", images, "--masks", masks, "--in-channels", "1", "--base", "8", "--depth", "2", "--scale", "1",
                     "--steps", "2", "-b", "2", "--mean", "0.4", "--std", "0.1"]
        let trained = try CommandRunner.unet(flags + ["--intensity-min", "0.2", "--intensity-max", "0.6", "--output-dir", output])
        #expect(trained.status == 0, "\(trained.error)")
        let info = try CommandRunner.unet(["info", output + "/best.safetensors"])
        #expect(info.output.contains("normalization: pixels / 255, then clipped to [0.2]...[0.6], then mean [0.4], std [0.1]"), "\(info.output)")
        // Two images that differ only below 0.2 and above 0.6 predict the same.
        let original = try ImageReader.read(path: images + "/0.png")
        let pushed = original.samples.map { $0 < 51 ? UInt16(0) : $0 > 153 ? 255 : $0 }
        #expect(pushed != original.samples)
        let pair = folder.appendingPathComponent("pair")
        try FileManager.default.createDirectory(at: pair, withIntermediateDirectories: true)
        try ImageWriter.writePNG(original, to: pair.appendingPathComponent("a.png").path)
        try ImageWriter.writePNG(try Image(width: original.width, height: original.height, channels: original.channels, samples: pushed),
                                 to: pair.appendingPathComponent("b.png").path)
        let predicted = try CommandRunner.unet(["predict", "-m", output + "/best.safetensors", "-i", pair.path, "-o",
                                                pair.appendingPathComponent("out").path, "--save-probabilities"])
        #expect(predicted.status == 0, "\(predicted.error)")
        let (a, b) = (try NumpyArray.read(path: pair.path + "/out/a.npy"), try NumpyArray.read(path: pair.path + "/out/b.npy"))
        #expect(a.scalars == b.scalars)
        for (extra, expected) in [(["--intensity-min", "0.2"], "come together"), (["--intensity-min", "0.6", "--intensity-max", "0.2"], "below"),
                                  (["--intensity-min", "-1", "--intensity-max", "0.2"], "--intensity-min")] {
            let refused = try CommandRunner.unet(flags + extra + ["--output-dir", folder.path + "/refused"])
            #expect(refused.status != 0 && refused.error.contains(expected) && !refused.error.contains("\n\n"), "\(refused.error)")
        }
    }

    @Test("trains on folders and writes best and last models, the metrics log and the curves")
    func trainsOnFolders() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 10, size: 32)
        let output = folder.appendingPathComponent("run").path
        let (status, stdout, stderr) = try CommandRunner.unet([
            "train", "--images", images, "--masks", masks, "--in-channels", "1", "--base", "8", "--depth", "2",
            "--scale", "1", "--steps", "30", "-b", "2", "--optimizer", "adam", "-l", "3e-3", "--schedule", "cosine",
            "--crop", "24", "--flips", "-v", "20", "--output-dir", output])
        #expect(status == 0, "\(stderr)")
        for name in ["best.safetensors", "last.safetensors", "metrics.jsonl", "training_curves.png"] {
            #expect(FileManager.default.fileExists(atPath: output + "/" + name), "\(name) missing")
        }
        #expect(stdout.contains("best: ") && stderr.contains("split: 8 for training, 2 for validation"), "\(stdout)\n\(stderr)")
        let steps = try records(output + "/metrics.jsonl", having: "learningRate")
        #expect(steps.count == 30)
        let validations = try records(output + "/metrics.jsonl", having: "meanIoU")
        #expect(validations.count == 10)
        let curves = try ImageReader.read(path: output + "/training_curves.png")
        #expect(curves.width >= 400 && curves.height >= 200)
        let info = try CommandRunner.unet(["info", output + "/best.safetensors"])
        #expect(info.status == 0 && info.output.contains("classes"), "\(info.error)")

        // The trained model evaluates and predicts; masks come back in the training masks' values (0/255).
        let evaluation = try CommandRunner.unet(["evaluate", "-m", output + "/best.safetensors", "--images", images,
                                                 "--masks", masks, "--json"])
        #expect(evaluation.status == 0, "\(evaluation.error)")
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(evaluation.output.utf8)) as? [String: Any])
        for key in ["pixel_accuracy", "mean_accuracy", "mean_iou", "per_class_iou", "mean_dice", "per_class_dice", "confusion_matrix"] {
            #expect(metrics[key] != nil, "\(key) missing")
        }
        #expect((metrics["mean_iou"] as? Double ?? 0) > 0.6, "\(metrics)")
        let predicted = folder.appendingPathComponent("predicted").path
        let prediction = try CommandRunner.unet(["predict", "-m", output + "/best.safetensors", "-i", images, "-o", predicted])
        #expect(prediction.status == 0, "\(prediction.error)")
        let mask = try ImageReader.read(path: predicted + "/0.png")
        #expect(mask.samples.allSatisfy { $0 == 0 || $0 == 255 } && mask.samples.contains(255))
    }

    @Test("dataset problems are all reported together, naming each file, and nothing is written")
    func datasetProblems() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-problems")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4, size: 32)
        // An image without a mask, a mask of another size, a corrupt image.
        try FileManager.default.copyItem(atPath: images + "/0.png", toPath: images + "/orphan.png")
        try ImageWriter.writePNG(try Image(width: 16, height: 16, channels: 1, samples: [UInt16](repeating: 0, count: 256)),
                                 to: masks + "/1.png")
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: images + "/2.png"))
        let output = folder.appendingPathComponent("run").path
        let (status, _, stderr) = try CommandRunner.unet([
            "train", "--images", images, "--masks", masks, "--in-channels", "1", "--base", "8", "--depth", "2",
            "--steps", "2", "--output-dir", output])
        #expect(status != 0)
        for name in ["orphan.png", "1.png", "2.png"] { #expect(stderr.contains(name), "\(name) not named in: \(stderr)") }
        #expect(!FileManager.default.fileExists(atPath: output), "the output folder was created")
    }

    @Test("a class count that contradicts --classes, and bad flags, fail with one line naming them")
    func contradictions() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-classes")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 3, size: 32)
        try ImageWriter.writePNG(try Image(width: 32, height: 32, channels: 1, samples: [UInt16](repeating: 128, count: 1024)),
                                 to: masks + "/0.png")
        let classes = try CommandRunner.unet(["train", "--images", images, "--masks", masks, "--in-channels", "1",
                                              "--classes", "2", "--scale", "1", "--steps", "1", "--output-dir", folder.path + "/run"])
        #expect(classes.status != 0 && classes.error.contains("--classes") && classes.error.contains("3 values"), "\(classes.error)")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/run"))
        // One image per batch whose deepest map is 1x1 cannot be batch-normalised: said before training starts.
        let tiny = try CommandRunner.unet(["train", "--images", images, "--masks", masks, "--in-channels", "1", "--mask-values", "0,128,255",
                                           "--classes", "3", "--scale", "0.5", "-b", "1", "--steps", "1", "--output-dir", folder.path + "/tiny"])
        #expect(tiny.status != 0 && tiny.error.contains("--batch-size"), "\(tiny.error)")
        let crop = try CommandRunner.unet(["train", "--images", images, "--masks", masks, "--crop", "4"])
        #expect(crop.status != 0 && crop.error.contains("--crop"))
        let both = try CommandRunner.unet(["train", "--images", images, "--masks", masks, "--load", "a", "--resume", "b"])
        #expect(both.status != 0 && both.error.contains("--resume"))
    }

    @Test("SIGINT saves last.safetensors at the step it reached and exits non-zero")
    func interrupt() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-interrupt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4, size: 32)
        let output = folder.appendingPathComponent("run").path
        let process = Process()
        process.executableURL = CommandRunner.productsDirectory.appendingPathComponent("unet")
        process.arguments = ["train", "--images", images, "--masks", masks, "--in-channels", "1", "--base", "8",
                             "--depth", "2", "--scale", "1", "--steps", "100000", "-v", "0", "--output-dir", output]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for a few steps in the log, then interrupt.
        let log = output + "/metrics.jsonl"
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, ((try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 3 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.interrupt()
        let exitDeadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < exitDeadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            Issue.record("unet train did not stop within 60 s of SIGINT")
        }
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        let info = try CommandRunner.unet(["info", output + "/last.safetensors"])
        #expect(info.status == 0, "\(info.error)")
        let steps = try records(log, having: "learningRate").count
        #expect(steps >= 3 && steps < 100000)
    }

    @Test("a run stopped by SIGINT and resumed with --resume ends exactly where an uninterrupted run ends")
    func resume() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-resume")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 8, size: 32)
        let steps = 200
        func arguments(_ output: String) -> [String] {
            ["train", "--images", images, "--masks", masks, "--in-channels", "1", "--base", "8", "--depth", "2", "--scale", "1",
             "--steps", "\(steps)", "-b", "2", "--optimizer", "adam", "-l", "3e-3", "--schedule", "cosine", "--crop", "24",
             "--flips", "-v", "25", "--validate-every", "7", "--output-dir", output]
        }
        let whole = folder.appendingPathComponent("whole").path
        let uninterrupted = try CommandRunner.unet(arguments(whole))
        #expect(uninterrupted.status == 0, "\(uninterrupted.error)")

        // The same run, interrupted after a few steps, then resumed from its last.safetensors.
        let part = folder.appendingPathComponent("part").path
        let process = Process()
        process.executableURL = CommandRunner.productsDirectory.appendingPathComponent("unet")
        process.arguments = arguments(part)
        (process.standardOutput, process.standardError) = (FileHandle.nullDevice, FileHandle.nullDevice)
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline,
            ((try? String(contentsOfFile: part + "/metrics.jsonl", encoding: .utf8))?.split(separator: "\n").count ?? 0) < 5
        {
            Thread.sleep(forTimeInterval: 0.01)
        }
        process.interrupt()
        process.waitUntilExit()
        let stoppedAt = try records(part + "/metrics.jsonl", having: "learningRate").count
        let resumed = try CommandRunner.unet(arguments(part) + ["--resume", part + "/last.safetensors"])
        #expect(resumed.status == 0, "\(resumed.error)")
        #expect(stoppedAt < steps || process.terminationStatus == 0, "stopped at \(stoppedAt)")

        let expected = try records(whole + "/metrics.jsonl", having: "learningRate").map { $0["loss"] as? Double }
        let found = try records(part + "/metrics.jsonl", having: "learningRate").map { $0["loss"] as? Double }
        let sameLosses = found == expected
        #expect(sameLosses, "losses differ after resuming at step \(stoppedAt)")
        let a = try Data(contentsOf: URL(fileURLWithPath: whole + "/last.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: part + "/last.safetensors"))
        let sameWeights = a == b
        #expect(sameWeights, "last.safetensors differs from the uninterrupted run's after resuming at step \(stoppedAt)")
    }

    @Test("--load fine-tunes a model for another class count: the head starts anew, with a warning")
    func fineTuneOtherClasses() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-finetune")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 6, size: 32)
        let first = folder.appendingPathComponent("first").path
        let base = ["train", "--images", images, "--masks", masks, "--in-channels", "1", "--base", "8", "--depth", "2",
                    "--scale", "1", "--steps", "2", "-b", "2", "-v", "0"]
        #expect(try CommandRunner.unet(base + ["--output-dir", first]).status == 0)
        let tuned = try CommandRunner.unet(base + ["--classes", "1", "--load", first + "/last.safetensors", "--output-dir",
                                                   folder.appendingPathComponent("tuned").path])
        #expect(tuned.status == 0, "\(tuned.error)")
        #expect(tuned.error.contains("warning") && tuned.error.contains("new random weights"), "\(tuned.error)")
        let info = try CommandRunner.unet(["info", folder.appendingPathComponent("tuned/last.safetensors").path, "--json"])
        #expect(info.output.contains("\"classes\":1") || info.output.contains("\"classes\": 1"), "\(info.output)")
    }

    /// The encoder's ImageNet file stands in as random weights with the classifier smp drops (torchvision's `fc.*` and
    /// `classifier.*`, pretrainedmodels' `last_linear.*`, efficientnet-pytorch's `_fc.*`, timm's `classifier.*`); an
    /// EfficientNet keeps its unused head (`_conv_head`, `_bn1`) in smp's keys, a MobileNetV2 or SE-ResNeXt its blocks
    /// past the depth.
    @Test("--arch smp-unet trains smp's Unet from a torchvision ResNet or MobileNetV2, pretrainedmodels SE-ResNeXt, efficientnet-pytorch or timm EfficientNet file; the model predicts and goes back to smp's keys",
          arguments: [("resnet18", "encoder.layer4.1.bn2.num_batches_tracked"), ("efficientnet-b0", "encoder._bn1.num_batches_tracked"),
                      ("mobilenet_v2", "encoder.features.18.1.num_batches_tracked"), ("timm-tf_efficientnet_lite0", "encoder.bn2.num_batches_tracked"),
                      ("se_resnext50_32x4d", "encoder.layer4.2.se_module.fc2.bias")])
    func smpUNet(name: String, lastKey: String) throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-smp")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 6, size: 32)
        let encoder = try #require(SMPEncoder(rawValue: name))
        var g = SeededGenerator(seed: 3)
        let module = encoder.module(inputChannels: 3, generator: &g)
        let features: Int
        switch encoder {
        case .resnet(let v): features = v.featureChannels.last!
        case .seNet: features = SENetEncoder.Variant.featureChannels.last!
        case .efficientNet(let v): features = v.headChannels
        case .timmEfficientNet(let v): features = v.headChannels
        case .mobileNetV2: features = MobileNetV2Encoder.headChannels
        }
        let weights = folder.appendingPathComponent(name + ".pth").path
        try TorchCheckpoint.write(ModelFile.storedTensors(of: module) + [
            (module.classifierPrefix + "weight", StoredTensor(Tensor(shape: [1000, features]))),
            (module.classifierPrefix + "bias", StoredTensor(Tensor(shape: [1000])))], to: weights)
        let output = folder.appendingPathComponent("run").path
        let trained = try CommandRunner.unet([
            "train", "--arch", "smp-unet", "--encoder", name, "--encoder-depth", "2", "--decoder-channels", "16,8",
            "--encoder-weights", weights, "--images", images, "--masks", masks, "--in-channels", "1", "--scale", "1",
            "--steps", "4", "-b", "2", "-v", "0", "--output-dir", output])
        #expect(trained.status == 0, "\(trained.error)")
        #expect(trained.error.contains("encoder: \(name) weights from"), "\(trained.error)")
        let info = try CommandRunner.unet(["info", output + "/last.safetensors"])
        #expect(info.output.contains("smp Unet") && info.output.contains("encoder: \(name), depth: 2"), "\(info.output)")
        // Back to smp's layout: a .pth whose keys and shapes are smp's, detected again with no flags.
        let exported = folder.appendingPathComponent("smp.pth").path
        #expect(try CommandRunner.unet(["convert", output + "/last.safetensors", "-o", exported]).status == 0)
        let loaded = try ModelFile.load(path: exported)
        #expect(loaded.model.architecture == .smpUNet(SMPUNetConfiguration(
            encoder: encoder, encoderDepth: 2, decoderChannels: [16, 8], inputChannels: 1, classes: 2)))
        #expect(loaded.tensors.contains { $0.key == lastKey })
        let predicted = folder.appendingPathComponent("predicted").path
        let prediction = try CommandRunner.unet(["predict", "-m", exported, "-i", images, "-o", predicted])
        #expect(prediction.status == 0, "\(prediction.error)")

        let refused = try CommandRunner.unet(["train", "--encoder-weights", weights, "--images", images, "--masks", masks])
        #expect(refused.status != 0 && refused.error.contains("--encoder-weights needs --arch smp-unet"), "\(refused.error)")
    }

    @Test("--decoder-attention scse trains smp's Unet with scse attention, which info names and convert takes back to smp's keys; widths scse cannot divide are refused")
    func smpUNetAttention() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-scse")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4, size: 32)
        let output = folder.appendingPathComponent("run").path
        let flags = ["train", "--arch", "smp-unet", "--encoder", "resnet18", "--encoder-depth", "2", "--decoder-attention", "scse",
                     "--images", images, "--masks", masks, "--in-channels", "1", "--scale", "1", "--steps", "2", "-b", "2", "-v", "0",
                     "--output-dir", output]
        let trained = try CommandRunner.unet(flags + ["--decoder-channels", "16,16"])
        #expect(trained.status == 0, "\(trained.error)")
        let info = try CommandRunner.unet(["info", output + "/last.safetensors"])
        #expect(info.output.contains("decoder attention: scse"), "\(info.output)")
        let exported = folder.appendingPathComponent("smp.pth").path
        #expect(try CommandRunner.unet(["convert", output + "/last.safetensors", "-o", exported]).status == 0)
        let loaded = try ModelFile.load(path: exported)
        #expect(loaded.model.architecture == .smpUNet(SMPUNetConfiguration(
            encoder: .resnet(.resnet18), encoderDepth: 2, decoderChannels: [16, 16], inputChannels: 1, classes: 2, decoderAttention: .scse)))
        #expect(loaded.tensors.contains { $0.key == "decoder.blocks.1.attention2.attention.cSE.3.weight" })

        let refused = try CommandRunner.unet(flags + ["--decoder-channels", "16,8"])
        #expect(refused.status != 0 && refused.error.contains("--decoder-attention") && refused.error.contains("at least 16"), "\(refused.error)")
    }

    @Test("train --arch basic-unet, monai-unet and nnunet (strides that differ between the axes too): train, save, info, convert to the package's layout, detected again, predict; odd sizes and non-multiples are predicted at their size",
          arguments: [
              (["--arch", "basic-unet", "--features", "4,4,8,8,16,4"],
               Architecture.basicUNet(BasicUNetConfiguration(features: [4, 4, 8, 8, 16, 4], inputChannels: 1, classes: 2)), "MONAI BasicUNet"),
              (["--arch", "monai-unet", "--channels", "4,8,16", "--strides", "2,2", "--res-units", "1", "--norm", "instance"],
               Architecture.monaiUNet(MONAIUNetConfiguration(channels: [4, 8, 16], strides: [2, 2], residualUnits: 1, norm: .instance,
                                                             inputChannels: 1, classes: 2)), "MONAI UNet"),
              (["--arch", "nnunet", "--features", "4,8,16", "--strides", "1,2,2"],
               Architecture.plainConvUNet(PlainConvUNetConfiguration(features: [4, 8, 16], strides: [1, 2, 2], inputChannels: 1, classes: 2)),
               "nnU-Net PlainConvUNet"),
              (["--arch", "nnunet", "--features", "4,8,16", "--strides", "1,2,1x2"],
               Architecture.plainConvUNet(PlainConvUNetConfiguration(features: [4, 8, 16], strides: [1, 2, 1], widthStrides: [1, 2, 2],
                                                                     inputChannels: 1, classes: 2)),
               "nnU-Net PlainConvUNet"),
          ])
    func peers(flags: [String], expected: Architecture, layout: String) throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-monai")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 6, size: 37)
        let output = folder.appendingPathComponent("run").path
        let trained = try CommandRunner.unet(["train"] + flags + [
            "--images", images, "--masks", masks, "--in-channels", "1", "--scale", "1", "--crop", "32", "--steps", "4", "-b", "2", "-v", "0",
            "--output-dir", output])
        #expect(trained.status == 0, "\(trained.error)")
        let info = try CommandRunner.unet(["info", output + "/last.safetensors"])
        #expect(info.output.contains("layout: \(layout)"), "\(info.output)")
        let exported = folder.appendingPathComponent("monai.pth").path
        #expect(try CommandRunner.unet(["convert", output + "/last.safetensors", "-o", exported]).status == 0)
        let loaded = try ModelFile.load(path: exported)
        #expect(loaded.model.architecture == expected)
        let predicted = folder.appendingPathComponent("predicted").path
        let prediction = try CommandRunner.unet(["predict", "-m", exported, "-i", images, "-o", predicted])
        #expect(prediction.status == 0, "\(prediction.error)")
        let mask = try ImageReader.read(path: predicted + "/0.png")
        #expect(mask.width == 37 && mask.height == 37)
    }

    @Test("--dropout trains MONAI's networks with dropout, which the model file records; EfficientNet encoders train with smp's drop path 0.2 unless --drop-path says otherwise; either refused in one line where the network has none")
    func regularization() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-dropout")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4, size: 32)
        let common = ["--images", images, "--masks", masks, "--in-channels", "1", "--scale", "1", "--steps", "2", "-b", "2", "-v", "0"]
        func run(_ name: String, _ flags: [String]) throws -> ((status: Int32, output: String, error: String), Architecture?) {
            let output = folder.appendingPathComponent(name).path
            let result = try CommandRunner.unet(["train", "--output-dir", output] + flags + common)
            return (result, result.status == 0 ? try ModelFile.load(path: output + "/last.safetensors").model.architecture : nil)
        }
        let (monai, monaiArchitecture) = try run("monai", ["--arch", "monai-unet", "--channels", "4,8,16", "--strides", "2,2", "--dropout", "0.2"])
        #expect(monai.status == 0 && monai.error.contains("dropout 0.2"), "\(monai.error)")
        guard case .monaiUNet(let c)? = monaiArchitecture else { Issue.record("\(String(describing: monaiArchitecture))"); return }
        #expect(c.dropout == 0.2)
        let smpFlags = ["--arch", "smp-unet", "--encoder", "timm-tf_efficientnet_lite0", "--encoder-depth", "2", "--decoder-channels", "16,8"]
        let (lite, liteArchitecture) = try run("lite", smpFlags)
        #expect(lite.status == 0 && lite.error.contains("drop path 0.2"), "\(lite.error)")
        guard case .smpUNet(let d)? = liteArchitecture else { Issue.record("\(String(describing: liteArchitecture))"); return }
        #expect(d.dropPath == 0.2)
        let (off, offArchitecture) = try run("off", smpFlags + ["--drop-path", "0"])
        #expect(off.status == 0 && !off.error.contains("drop path"), "\(off.error)")
        guard case .smpUNet(let e)? = offArchitecture else { Issue.record("\(String(describing: offArchitecture))"); return }
        #expect(e.dropPath == 0)
        let resnet = try CommandRunner.unet(["train", "--arch", "smp-unet", "--encoder", "resnet18", "--drop-path", "0.1"] + common)
        #expect(resnet.status != 0 && resnet.error.contains("--drop-path") && resnet.error.contains("no stochastic depth"), "\(resnet.error)")
        let classic = try CommandRunner.unet(["train", "--dropout", "0.1"] + common)
        #expect(classic.status != 0 && classic.error.contains("--dropout") && classic.error.contains("MONAI's UNet and BasicUNet have"),
                "\(classic.error)")
        let rate = try CommandRunner.unet(["train", "--arch", "monai-unet", "--dropout", "1"] + common)
        #expect(rate.status != 0 && rate.error.contains("--dropout 1.0: a rate in [0, 1)"), "\(rate.error)")
    }

    @Test("--act: a MONAI UNet with LeakyReLU trains, goes out as MONAI's .pth, and comes back only with --act, which a PReLU file contradicts")
    func monaiActivation() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-act")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 6, size: 37)
        let common = ["--images", images, "--masks", masks, "--in-channels", "1", "--scale", "1", "--crop", "32", "--steps", "2", "-b", "2",
                      "-v", "0"]
        let output = folder.appendingPathComponent("run").path
        let trained = try CommandRunner.unet(["train", "--arch", "monai-unet", "--channels", "4,8,16", "--strides", "2,2", "--res-units", "0",
                                              "--act", "leakyrelu:0.2", "--output-dir", output] + common)
        #expect(trained.status == 0, "\(trained.error)")
        let info = try CommandRunner.unet(["info", output + "/last.safetensors"])
        #expect(info.output.contains("LeakyReLU(0.2)"), "\(info.output)")
        let exported = folder.appendingPathComponent("monai.pth").path
        #expect(try CommandRunner.unet(["convert", output + "/last.safetensors", "-o", exported]).status == 0)
        let predicted = folder.appendingPathComponent("predicted").path
        let refused = try CommandRunner.unet(["predict", "-m", exported, "-i", images, "-o", predicted])
        #expect(refused.status != 0 && refused.error.contains("give --act relu|leakyrelu[:slope]"), "\(refused.error)")
        let given = try CommandRunner.unet(["predict", "-m", exported, "--act", "leakyrelu:0.2", "-i", images, "-o", predicted])
        #expect(given.status == 0, "\(given.error)")
        let loaded = try ModelFile.load(path: exported, options: ModelLoadOptions(overrides: ArchitectureOverrides(activation: .leakyReLU(0.2))))
        guard case .monaiUNet(let c) = loaded.model.architecture else { Issue.record("\(loaded.model.architecture)"); return }
        #expect(c.activation == .leakyReLU(0.2))
        let tuned = try CommandRunner.unet(["train", "--load", exported, "--act", "leakyrelu:0.2", "--output-dir",
                                            folder.appendingPathComponent("tuned").path] + common)
        #expect(tuned.status == 0, "\(tuned.error)")
        let prelu = try CommandRunner.unet(["train", "--arch", "monai-unet", "--channels", "4,8,16", "--strides", "2,2", "--res-units", "0",
                                            "--output-dir", folder.appendingPathComponent("prelu").path] + common)
        #expect(prelu.status == 0, "\(prelu.error)")
        let contradicted = try CommandRunner.unet(["info", folder.appendingPathComponent("prelu").path + "/last.safetensors", "--act", "relu"])
        #expect(contradicted.status != 0 && contradicted.error.contains("activation relu (the file has prelu)"), "\(contradicted.error)")
        let classic = try CommandRunner.unet(["info", Fixture.path("models/milesial_b2_c2.pth"), "--act", "relu"])
        #expect(classic.status != 0 && classic.error.contains("--act is for a MONAI UNet or BasicUNet"), "\(classic.error)")
    }

    @Test("a stride-3 MONAI UNet without norm trains, goes out as MONAI's .pth, comes back with --strides and --norm none; without them notes name each")
    func monaiStrides() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-strides")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 6, size: 37)
        let common = ["--images", images, "--masks", masks, "--in-channels", "1", "--scale", "1", "--crop", "30", "--steps", "2", "-b", "2",
                      "-v", "0"]
        let output = folder.appendingPathComponent("run").path
        let trained = try CommandRunner.unet(["train", "--arch", "monai-unet", "--channels", "4,8,16", "--strides", "3,2", "--res-units", "1",
                                              "--norm", "none", "--output-dir", output] + common)
        #expect(trained.status == 0, "\(trained.error)")
        let exported = folder.appendingPathComponent("monai.pth").path
        #expect(try CommandRunner.unet(["convert", output + "/last.safetensors", "-o", exported]).status == 0)
        let guessed = try CommandRunner.unet(["train", "--load", exported, "--output-dir", folder.appendingPathComponent("guessed").path] + common)
        #expect(guessed.error.contains("note: a MONAI UNet checkpoint does not record its strides"), "\(guessed.error)")
        #expect(guessed.error.contains("note: no norm parameters (adn.N keys): assumed instance norm"), "\(guessed.error)")
        let tuned = try CommandRunner.unet(["train", "--load", exported, "--strides", "3,2", "--norm", "none", "--output-dir",
                                            folder.appendingPathComponent("tuned").path] + common)
        #expect(tuned.status == 0 && !tuned.error.contains("assumed"), "\(tuned.error)")
        let resumed = try ModelFile.load(path: folder.appendingPathComponent("tuned").path + "/last.safetensors")
        guard case .monaiUNet(let c) = resumed.model.architecture else { Issue.record("\(resumed.model.architecture)"); return }
        #expect(c.strides == [3, 2] && c.norm == MONAINorm.none)
        let prediction = try CommandRunner.unet(["predict", "-m", exported, "--strides", "3,2", "--norm", "none", "-i", images, "-o",
                                                 folder.appendingPathComponent("predicted").path])
        #expect(prediction.status == 0 && !prediction.error.contains("note:"), "\(prediction.error)")
        // Loading commands say what they assumed, naming the flag.
        let unsure = try CommandRunner.unet(["export", exported, "-o", folder.appendingPathComponent("m.onnx").path])
        let notes = unsure.error.split(separator: "\n").filter { $0.hasPrefix("note: ") }
        #expect(notes.count == 2 && notes[0].contains("give --strides") && notes[1].contains("give --norm none"), "\(unsure.error)")
    }

    @Test("--freeze-encoder N leaves the encoder's weights as the file gave them for N steps while the decoder trains; refused without an encoder")
    func freezeEncoder() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-freeze")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 6, size: 32)
        var g = SeededGenerator(seed: 4)
        let resnet = ResNetEncoder(.resnet18, inputChannels: 3, generator: &g)
        let weights = folder.appendingPathComponent("resnet18.pth").path
        try TorchCheckpoint.write(ModelFile.storedTensors(of: resnet), to: weights)
        let output = folder.appendingPathComponent("run").path
        let trained = try CommandRunner.unet([
            "train", "--arch", "smp-unet", "--encoder", "resnet18", "--encoder-depth", "2", "--decoder-channels", "16,8",
            "--encoder-weights", weights, "--freeze-encoder", "3", "--images", images, "--masks", masks, "--scale", "1",
            "--steps", "3", "-b", "2", "-v", "0", "--output-dir", output])
        #expect(trained.status == 0, "\(trained.error)")
        #expect(trained.error.contains("encoder frozen for the first 3 steps"), "\(trained.error)")
        let loaded = try ModelFile.load(path: output + "/last.safetensors")
        let stored = Dictionary(loaded.tensors.map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        for (key, parameter) in resnet.namedParameters() where parameter.requiresGrad {
            #expect(stored["encoder." + key]?.floatTensor() == parameter.value, "encoder.\(key) changed while frozen")
        }
        // The same run without freezing moves the encoder: the freeze is what held it.
        let moving = try CommandRunner.unet([
            "train", "--arch", "smp-unet", "--encoder", "resnet18", "--encoder-depth", "2", "--decoder-channels", "16,8",
            "--encoder-weights", weights, "--images", images, "--masks", masks, "--scale", "1",
            "--steps", "3", "-b", "2", "-v", "0", "--output-dir", folder.appendingPathComponent("moving").path])
        #expect(moving.status == 0, "\(moving.error)")
        let moved = try ModelFile.load(path: folder.appendingPathComponent("moving/last.safetensors").path)
        #expect(moved.tensors.first { $0.key == "encoder.conv1.weight" }?.tensor.floatTensor() != resnet.namedParameters().first { $0.0 == "conv1.weight" }?.1.value)

        let refused = try CommandRunner.unet(["train", "--arch", "basic-unet", "--freeze-encoder", "2", "--images", images, "--masks", masks,
                                              "--steps", "1", "--output-dir", folder.appendingPathComponent("b").path])
        #expect(refused.status != 0 && refused.error.contains("--freeze-encoder") && refused.error.contains("no encoder"), "\(refused.error)")
    }

    @Test("--arch nnunet trains with deep supervision by default (nnU-Net's weights: a weighted lower head learns, the lowest weighs 0); --no-deep-supervision trains the full-resolution head alone; refused without lower heads")
    func deepSupervision() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-ds")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 6, size: 32)
        func train(_ flags: [String], _ name: String) throws -> ((status: Int32, output: String, error: String), [String: Tensor]) {
            let output = folder.appendingPathComponent(name).path
            let run = try CommandRunner.unet(["train", "--arch", "nnunet", "--features", "4,8,16,16", "--strides", "1,2,2,2", "--in-channels", "1",
                                              "--images", images, "--masks", masks, "--scale", "1", "--steps", "3", "-b", "2", "-v", "0",
                                              "--optimizer", "adam", "--learning-rate", "0.01", "--weight-decay", "0", "--output-dir", output] + flags)
            guard run.status == 0 else { return (run, [:]) }
            let loaded = try ModelFile.load(path: output + "/last.safetensors")
            return (run, Dictionary(loaded.tensors.map { ($0.key, $0.tensor.floatTensor()) }, uniquingKeysWith: { a, _ in a }))
        }
        let (supervised, withHeads) = try train([], "ds")
        #expect(supervised.status == 0, "\(supervised.error)")
        #expect(supervised.error.contains("deep supervision: 3 heads, loss weights 0.667, 0.333, 0"), "\(supervised.error)")
        let (plain, fullOnly) = try train(["--no-deep-supervision"], "plain")
        #expect(plain.status == 0 && !plain.error.contains("deep supervision:"), "\(plain.error)")
        // Both start from the same weights (one seed): the lower head weighing 1/3 learns only with deep supervision,
        // the lowest (weight 0) in neither.
        let lower = "decoder.seg_layers.1.weight", lowest = "decoder.seg_layers.0.weight"
        #expect(withHeads[lower] != nil && withHeads[lower] != fullOnly[lower])
        #expect(withHeads[lowest] != nil && withHeads[lowest] == fullOnly[lowest])

        let refused = try CommandRunner.unet(["train", "--arch", "basic-unet", "--deep-supervision", "--images", images, "--masks", masks,
                                              "--steps", "1", "--output-dir", folder.appendingPathComponent("b").path])
        #expect(refused.status != 0 && refused.error.contains("--deep-supervision") && refused.error.contains("no lower-resolution heads"),
                "\(refused.error)")
    }

    @Test("nnU-Net's networks train with nnU-Net's optimizer and Dice where their flags are left out (SGD at 1e-2, Nesterov momentum 0.99, weight decay 3e-5, poly, clipping at 12, Dice without the background), resumed too; a flag given wins; others keep milesial's; --min-lr above the rate that applies is refused")
    func nnUNetOptimizer() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-nnopt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4, size: 32)
        let data = ["--images", images, "--masks", masks, "--in-channels", "1", "--scale", "1", "-b", "2", "-v", "0"]
        let nnunet = ["--arch", "nnunet", "--features", "4,8,16", "--strides", "1,2,2"]
        func train(_ flags: [String], _ name: String) throws -> (run: (status: Int32, output: String, error: String), rates: [Double]) {
            let output = folder.appendingPathComponent(name).path
            let run = try CommandRunner.unet(["train"] + data + flags + ["--output-dir", output])
            let rates = run.status == 0 ? try records(output + "/metrics.jsonl", having: "learningRate").map { $0["learningRate"] as? Double ?? .nan } : []
            return (run, rates)
        }
        let plain = try train(nnunet + ["--steps", "4"], "nn")
        #expect(plain.run.status == 0, "\(plain.run.error)")
        #expect(plain.run.error.contains("optimizer: sgd at 0.01, Nesterov momentum 0.99, weight decay 3e-05, poly schedule, gradient norm clipped at 12"),
                "\(plain.run.error)")
        #expect(plain.run.error.contains("loss: dice-ce, Dice without the background (class 0)"), "\(plain.run.error)")
        // The poly schedule from 1e-2: base × (1 - t/4)^0.9.
        let poly = (0..<4).map { 0.01 * pow(1 - Double($0) / 4, 0.9) }
        #expect(plain.rates.count == 4 && zip(plain.rates, poly).allSatisfy { abs($0 - $1) < 1e-6 }, "\(plain.rates)")
        // Resumed without --arch: the model's own defaults, so the optimizer state recorded (SGD) goes on.
        let resumed = try CommandRunner.unet(["train"] + data + ["--steps", "6", "--resume", folder.appendingPathComponent("nn/last.safetensors").path,
                                                                   "--output-dir", folder.appendingPathComponent("nn").path])
        #expect(resumed.status == 0 && resumed.error.contains("optimizer: sgd at 0.01"), "\(resumed.error)")

        let given = try train(nnunet + ["--steps", "2", "--optimizer", "adam", "-l", "0.003", "--no-nesterov"], "given")
        #expect(given.run.status == 0 && given.run.error.contains("optimizer: adam at 0.003, beta1 0.9, weight decay 3e-05, poly schedule"),
                "\(given.run.error)")
        #expect(given.rates.first.map { abs($0 - 0.003) < 1e-9 } == true, "\(given.rates)")
        let background = try train(nnunet + ["--steps", "1", "--dice-background"], "background")
        #expect(background.run.status == 0 && background.run.error.contains("loss: dice-ce\n"), "\(background.run.error)")
        let classic = try train(["--base", "4", "--steps", "1"], "classic")
        #expect(classic.run.status == 0 && classic.run.error.contains("optimizer: rmsprop at 1e-05, momentum 0.999, weight decay 1e-08, plateau schedule, gradient norm clipped at 1"),
                "\(classic.run.error)")
        #expect(classic.run.error.contains("loss: dice-ce\n"), "\(classic.run.error)")

        let refused = try train(nnunet + ["--steps", "1", "--min-lr", "0.05"], "refused")
        #expect(refused.run.status != 0 && refused.run.error.contains("--min-lr 0.05 is above the learning rate, 0.01"), "\(refused.run.error)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("refused").path))
    }

    @Test("--deep-supervision on a classic U-Net: added heads for training (said, with their weights), a model file without them, and resume only as trained; refused with valid padding or depth 2, one line each")
    func classicDeepSupervision() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-classic-ds")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 6, size: 32)
        let output = folder.appendingPathComponent("ds").path
        let common = ["train", "--base", "4", "--depth", "3", "--in-channels", "1", "--images", images, "--masks", masks, "--scale", "1",
                      "-b", "2", "-v", "0"]
        let run = try CommandRunner.unet(common + ["--steps", "3", "--deep-supervision", "--output-dir", output])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.error.contains("deep supervision: 3 heads (1x1 heads added for training), loss weights 0.667, 0.333, 0"), "\(run.error)")
        let best = try ModelFile.load(path: output + "/best.safetensors")
        #expect(!best.model.stateDict().keys.contains { $0.contains("deep_supervision") } && best.model.stateDict().keys.contains("outc.conv.weight"))
        let info = try CommandRunner.unet(["info", output + "/best.safetensors"])
        #expect(info.status == 0, "\(info.error)")
        let resumed = try CommandRunner.unet(common + ["--steps", "4", "--resume", output + "/last.safetensors", "--output-dir", output])
        #expect(resumed.status != 0 && resumed.error.split(separator: "\n").contains { $0.contains("last.safetensors: trained with")
                && $0.contains("resume it with --deep-supervision") }, "\(resumed.error)")
        let continued = try CommandRunner.unet(common + ["--steps", "4", "--deep-supervision", "--resume", output + "/last.safetensors",
                                                         "--output-dir", output])
        #expect(continued.status == 0 && continued.error.contains("resumed"), "\(continued.error)")

        for (flags, reason) in [(["--padding", "valid"], "--padding same"), (["--depth", "2"], "--depth 3 or more")] {
            let refused = try CommandRunner.unet(common + flags + ["--steps", "1", "--deep-supervision", "--output-dir",
                                                                   folder.appendingPathComponent("refused").path])
            #expect(refused.status != 0 && refused.error.split(separator: "\n").contains { $0.contains("--deep-supervision: ") && $0.contains(reason) },
                    "\(refused.error)")
        }
    }
}

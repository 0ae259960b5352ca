// swift-tools-version: 6.0
// unet: U-Net semantic segmentation in Swift. See README.md for the architecture.
import PackageDescription

/// Targets whose Swift loops (optimizers, losses, augmentation, tiling, metrics) carry real work are optimized in
/// debug builds too, so that `swift test` trains at a useful speed; the rest keeps debug settings.
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "unet",
    products: [
        .executable(name: "unet", targets: ["unet"]),
        .executable(name: "segment-image", targets: ["SegmentImage"]),
        .library(
            name: "UNetKit",
            targets: ["Tensors", "Graph", "Kernels", "NN", "Models", "Execution", "Training", "Datasets", "Metrics", "Inference",
                      "Reports", "Workflows", "Checkpoints", "ImageIO", "Files"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - C system libraries (Debian packages installed by scripts/bootstrap.sh)
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CImageCodecs", path: "Sources/CImageCodecs"),

        // MARK: - Libraries
        .target(name: "DNNL", dependencies: ["CDNNL"]),
        .target(name: "Files"),
        .target(name: "Tensors", swiftSettings: optimizedInDebug),
        .target(name: "Graph"),
        .target(name: "Kernels", dependencies: ["DNNL", "Tensors"]),
        .target(name: "NN", dependencies: ["Kernels", "Tensors"]),
        .target(name: "Checkpoints", dependencies: ["Files", "Tensors"]),
        .target(name: "Models", dependencies: ["Checkpoints", "Files", "Graph", "Kernels", "NN", "Tensors"]),
        .target(name: "Execution", dependencies: ["DNNL", "Graph", "Kernels", "NN", "Models", "Tensors"]),
        .target(name: "Training", dependencies: ["DNNL", "NN", "Tensors"], swiftSettings: optimizedInDebug),
        .target(name: "Metrics", swiftSettings: optimizedInDebug),
        .target(name: "Datasets", dependencies: ["Files", "ImageIO", "Tensors"], swiftSettings: optimizedInDebug),
        .target(name: "Reports", dependencies: ["ImageIO"], swiftSettings: optimizedInDebug),
        .target(
            name: "Inference", dependencies: ["Datasets", "Execution", "Graph", "Kernels", "Models", "Tensors"], swiftSettings: optimizedInDebug),
        .target(
            name: "Workflows",
            dependencies: [
                "Checkpoints", "Datasets", "Execution", "Files", "Graph", "ImageIO", "Inference", "Metrics", "Models", "NN", "Reports",
                "Tensors", "Training",
            ],
            swiftSettings: optimizedInDebug),
        .target(name: "ImageIO", dependencies: ["CImageCodecs", "Files"]),

        // MARK: - Command-line tool
        .executableTarget(
            name: "unet",
            dependencies: [
                "Checkpoints", "DNNL", "Datasets", "Execution", "Files", "Graph", "ImageIO", "Inference", "Metrics", "Models", "Reports",
                "Tensors", "Training", "Workflows",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: - Example (README: using the library from Swift)
        .executableTarget(
            name: "SegmentImage", dependencies: ["ImageIO", "Inference", "Models", "Workflows"], path: "Examples/SegmentImage"),

        // MARK: - Fuzzing (Fuzz/run.sh builds unet-fuzz with libFuzzer; make test replays Fuzz/regressions)
        .target(
            name: "FuzzHarnesses", dependencies: ["Checkpoints", "Datasets", "ImageIO", "Models", "Workflows"], path: "Fuzz/Harnesses"),
        .executableTarget(name: "unet-fuzz", dependencies: ["FuzzHarnesses"], path: "Fuzz/Driver"),

        // MARK: - Tests
        .target(
            name: "TestSupport", dependencies: ["Tensors", "Checkpoints", "ImageIO", "Models"], path: "Tests/TestSupport",
            resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport"]),
        .testTarget(name: "GraphTests", dependencies: ["Graph"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Tensors", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Kernels", "Tensors", "TestSupport"]),
        .testTarget(name: "DNNLTests", dependencies: ["DNNL"]),
        .testTarget(name: "FilesTests", dependencies: ["Files"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzHarnesses"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "NN", "Tensors", "TestSupport"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "ImageIO", "Tensors", "TestSupport"]),
        .testTarget(
            name: "WorkflowsTests",
            dependencies: [
                "Workflows", "Inference", "Datasets", "Execution", "Models", "Training", "Tensors", "Checkpoints", "TestSupport",
            ]),
        .testTarget(name: "ExecutionTests", dependencies: ["Execution", "Graph", "DNNL", "Kernels", "NN", "Models", "Tensors", "TestSupport", "Training"]),
        .testTarget(name: "ModelsTests", dependencies: ["Execution", "Graph", "Models", "NN", "Checkpoints", "Tensors", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "Tensors", "TestSupport"]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "Checkpoints", "TestSupport"]),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "Datasets", "Execution", "Graph", "Models", "Tensors", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["unet", "SegmentImage", "Checkpoints", "Files", "ImageIO", "Tensors", "TestSupport"]),
    ]
)

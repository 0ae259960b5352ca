// swift-tools-version: 6.0
// unet: U-Net semantic segmentation in Swift. See README.md for the architecture.
import PackageDescription

let package = Package(
    name: "unet",
    products: [
        .executable(name: "unet", targets: ["unet"]),
        .library(
            name: "UNetKit",
            targets: ["Tensors", "Kernels", "NN", "Models", "Execution", "Training", "Datasets", "Metrics", "Inference",
                      "Reports", "Workflows", "Checkpoints", "ImageIO"]),
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
        .target(name: "Tensors"),
        .target(name: "Kernels", dependencies: ["DNNL", "Tensors"]),
        .target(name: "NN", dependencies: ["Kernels", "Tensors"]),
        .target(name: "Checkpoints", dependencies: ["Tensors"]),
        .target(name: "Models", dependencies: ["NN", "Kernels", "Tensors", "Checkpoints"]),
        .target(name: "Execution", dependencies: ["DNNL", "Kernels", "NN", "Models", "Tensors"]),
        .target(name: "Training", dependencies: ["NN", "Tensors"]),
        .target(name: "Metrics"),
        .target(name: "Datasets", dependencies: ["ImageIO", "Tensors"]),
        .target(name: "Reports", dependencies: ["ImageIO"]),
        .target(name: "Inference", dependencies: ["Datasets", "Execution", "Kernels", "Models", "Tensors"]),
        .target(
            name: "Workflows",
            dependencies: [
                "Datasets", "Execution", "ImageIO", "Inference", "Metrics", "Models", "NN", "Reports", "Tensors", "Training", "Kernels",
            ]),
        .target(name: "ImageIO", dependencies: ["CImageCodecs"]),

        // MARK: - Command-line tool
        .executableTarget(
            name: "unet",
            dependencies: [
                "NN", "Models", "Execution", "Training", "Workflows", "Datasets", "Metrics", "Reports", "DNNL", "Tensors",
                "Kernels", "Inference", "Checkpoints", "ImageIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: - Tests
        .target(
            name: "TestSupport", dependencies: ["Tensors", "Checkpoints", "ImageIO"], path: "Tests/TestSupport",
            resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Tensors", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Kernels", "Tensors", "TestSupport"]),
        .testTarget(name: "DNNLTests", dependencies: ["DNNL"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "NN", "Tensors", "TestSupport"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "ImageIO", "Tensors", "TestSupport"]),
        .testTarget(
            name: "WorkflowsTests",
            dependencies: [
                "Workflows", "Inference", "Datasets", "Execution", "Models", "Training", "Tensors", "Checkpoints", "TestSupport",
            ]),
        .testTarget(name: "ExecutionTests", dependencies: ["Execution", "DNNL", "Kernels", "NN", "Models", "Tensors", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "NN", "Checkpoints", "Tensors", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "Tensors", "TestSupport"]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "Checkpoints", "TestSupport"]),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "Datasets", "Execution", "Models", "Tensors", "ImageIO", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["unet", "Checkpoints", "ImageIO", "Tensors", "TestSupport"]),
    ]
)

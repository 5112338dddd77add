// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "git-autoresearch",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "git-autoresearch", targets: ["git-autoresearch"]),
        .library(name: "Autoresearch", targets: ["Autoresearch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // libgit2 as a system library, found through pkg-config.
        .systemLibrary(
            name: "Clibgit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        // The few POSIX pieces Swift cannot reach directly (GNU spawn flags, async-signal-safe flags).
        .target(name: "CProcessSupport"),
        // Safe Swift wrapper over libgit2; knows nothing of experiments.
        .target(name: "Git", dependencies: ["Clibgit2"]),
        // The domain: config, evaluation, decision, ledger, iteration.
        .target(name: "Autoresearch", dependencies: ["Git", "CProcessSupport"]),
        // Thin command-line front end, one file per subcommand.
        .executableTarget(
            name: "git-autoresearch",
            dependencies: [
                "Autoresearch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks (`make bench`).
        .executableTarget(name: "autoresearch-bench", dependencies: ["Autoresearch", "Git", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["Git"], path: "Tests/TestSupport"),
        .testTarget(name: "GitTests", dependencies: ["Git", "TestSupport"]),
        .testTarget(name: "AutoresearchTests", dependencies: ["Autoresearch", "Git", "TestSupport"]),
    ]
)

// swift-tools-version:6.0
import PackageDescription

// Linux only (Debian 12 and later): the process layer reads /proc and calls Glibc, so no Apple
// platform is declared.
let package = Package(
    name: "git-autoresearch",
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
        // What the Git layer needs in C: certificates loaded only for commands that talk to a remote.
        .target(name: "Clibgit2Support", dependencies: ["Clibgit2"]),
        // libgit2's ssh transport replaced by one that runs the system's OpenSSH client, as git does.
        .target(name: "CGitSsh", dependencies: ["Clibgit2"]),
        // Safe Swift wrapper over libgit2; knows nothing of experiments.
        .target(name: "Git", dependencies: ["Clibgit2", "Clibgit2Support", "CGitSsh"]),
        // The domain: model, store, process, engine, sharing, reports (docs/architecture.md).
        .target(
            name: "Autoresearch",
            dependencies: ["Git", "CProcessSupport"],
            exclude: ["Model/README.md", "Store/README.md", "Process/README.md", "Engine/README.md",
                      "Sharing/README.md", "Reports/README.md"]
        ),
        // Thin command-line front end, one file per subcommand.
        .executableTarget(
            name: "git-autoresearch",
            dependencies: [
                "Autoresearch", "Git", "CProcessSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Scratch repositories, the git CLI as an oracle, child processes and the built binary:
        // for the tests and the benchmarks, never for the shipped tool.
        .target(name: "Fixtures", dependencies: ["CProcessSupport"]),
        // Benchmarks (`make bench`).
        .executableTarget(name: "autoresearch-bench", dependencies: ["Autoresearch", "Git", "Fixtures"]),
        // `make chaos`: kill -9 at random moments, checks after each kill.
        .executableTarget(name: "autoresearch-chaos", dependencies: ["Fixtures"]),
        .testTarget(name: "GitTests", dependencies: ["Git", "Fixtures"]),
        .testTarget(name: "AutoresearchTests", dependencies: ["Autoresearch", "Git", "Fixtures"]),
    ]
)

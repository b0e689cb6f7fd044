import ArgumentParser

/// `geofront config …`: the fleet's configuration in etcd.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "The fleet's configuration in etcd.",
        subcommands: [ConfigPushCommand.self]
    )
}

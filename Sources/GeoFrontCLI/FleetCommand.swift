import ArgumentParser

/// `geofront fleet …`: the instances that follow a configuration in etcd.
struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "The instances following a configuration in etcd.",
        subcommands: [FleetStatusCommand.self]
    )
}

// Launch: the communicator a command should use — Open MPI's world when `mpirun` started the
// process (it sets OMPI_COMM_WORLD_SIZE), else the group of one, so a plain run never
// initialises MPI. Leaves out other launchers (srun, PMIx without Open MPI's variables).
import Foundation

public enum Launch {
    /// True when this process is a rank that Open MPI's launcher started.
    public static var underMPIRun: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    /// `MPICommunicator.world()` under mpirun, `SingleProcess()` otherwise.
    public static func communicator() throws(DistributedError) -> any Communicator {
        underMPIRun ? try MPICommunicator.world() : SingleProcess()
    }
}

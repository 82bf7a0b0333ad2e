//! Compiles `proto/uapi/events/v1` with protox (pure Rust: no `protoc` on any machine) and prost.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = "../../proto";
    println!("cargo:rerun-if-changed={root}");
    let files = [
        "uapi/events/v1/employee.proto",
        "uapi/events/v1/group.proto",
        "uapi/events/v1/connection.proto",
        "uapi/events/v1/consumer.proto",
    ];
    let fds = protox::compile(files, [root])?;
    prost_build::Config::new().compile_fds(fds)?;
    Ok(())
}

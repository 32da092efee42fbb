struct Server;

impl Server {
    #[go::goroutine]
    fn serve(&self, port: u16) {
        println!("serving on {port}");
    }
}

fn main() {}

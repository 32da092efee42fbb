struct Job(u32);

fn main() {
    let jobs = go::make!(chan Job, 1);
    go::select! {
        case job := <-jobs => println!("{}", job.0),
    }
}

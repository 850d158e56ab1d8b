// Initiates the replica set rs0 of docker-compose.yml (mongo1, mongo2, mongo3), then waits for a primary.
// Run once by the `mongo-init` service on every `docker compose up`; a set that already exists is left alone.
// mongosh mongodb://mongo1:27017/?directConnection=true /deploy/mongo-init.js

const config = {
  _id: "rs0",
  members: [
    { _id: 0, host: "mongo1:27017" },
    { _id: 1, host: "mongo2:27017" },
    { _id: 2, host: "mongo3:27017" },
  ],
};

try {
  rs.status();
  print("rs0: already initiated");
} catch (err) {
  if (err.codeName !== "NotYetInitialized") throw err;
  try {
    rs.initiate(config);
    print("rs0: initiated");
  } catch (initErr) {
    if (initErr.codeName !== "AlreadyInitialized") throw initErr;
    print("rs0: already initiated");
  }
}

// The OMS processes start when this exits 0: make sure there is a primary to write to by then.
for (let waited = 0; waited < 120; waited++) {
  const primary = db.adminCommand({ hello: 1 }).primary;
  if (primary) {
    print(`rs0: primary is ${primary}`);
    quit(0);
  }
  sleep(1000);
}
print("rs0: no primary elected within 120 s");
quit(1);

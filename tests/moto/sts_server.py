"""A local AWS endpoint for keyfence's --verify tests: moto's server on 127.0.0.1 (a free port),
with an IAM user and access keys made through it, then its authentication mode switched on.

Prints one JSON line (port, account, user, keys) and serves until stdin closes.

moto accepts Inactive access keys; real STS answers 403 InvalidClientTokenId for them, so the IAM
access-key lookup is patched here to do the same.
"""

import json
import sys
import urllib.request

from moto.iam import access_control
from moto.server import ThreadedMotoServer

_lookup = access_control.IAMUserAccessKey.__init__


def _reject_inactive(self, account_id, partition, access_key_id, headers):
    _lookup(self, account_id, partition, access_key_id, headers)
    for user in self.backend.list_users("/", None, None):
        for key in user.access_keys:
            if key.access_key_id == access_key_id and key.status != "Active":
                raise access_control.CreateAccessKeyFailure(reason="InvalidId")


access_control.IAMUserAccessKey.__init__ = _reject_inactive


def main():
    import boto3

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # Setup runs before auth is on: any credentials do.
    iam = boto3.client(
        "iam",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    user = "ci-deploy"
    iam.create_user(UserName=user)
    live = iam.create_access_key(UserName=user)["AccessKey"]
    inactive = iam.create_access_key(UserName=user)["AccessKey"]
    iam.update_access_key(
        UserName=user, AccessKeyId=inactive["AccessKeyId"], Status="Inactive"
    )
    # A role session (ASIA key + session token), made while auth is still off.
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    role = iam.create_role(RoleName="deploy-role", AssumeRolePolicyDocument=trust)
    sts = boto3.client(
        "sts",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    session = sts.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="ci")[
        "Credentials"
    ]
    req = urllib.request.Request(
        f"{url}/moto-api/reset-auth",
        data=b"0",
        headers={"Content-Type": "text/plain"},
        method="POST",
    )
    urllib.request.urlopen(req).read()
    print(
        json.dumps(
            {
                "port": port,
                "user": user,
                "live": [live["AccessKeyId"], live["SecretAccessKey"]],
                "inactive": [inactive["AccessKeyId"], inactive["SecretAccessKey"]],
                "session": [
                    session["AccessKeyId"],
                    session["SecretAccessKey"],
                    session["SessionToken"],
                ],
            }
        ),
        flush=True,
    )
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()

"""Typed errors of provisioning. Input errors carry every problem at once, per field."""


class ProvisioningError(Exception):
    code = "provisioning_failed"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ProvisioningInputError(ProvisioningError):
    code = "invalid_input"

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        lines = [f"{field}: {msg}" for field, msgs in errors.items() for msg in msgs]
        super().__init__("; ".join(lines))


class ProvisioningStepError(ProvisioningError):
    code = "step_failed"

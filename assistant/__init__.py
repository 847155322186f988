"""ampfix: offline troubleshooting for AWS Amplify Gen 2."""

__version__ = "0.1.0"

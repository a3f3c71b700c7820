#!/usr/bin/env bats
load helpers
